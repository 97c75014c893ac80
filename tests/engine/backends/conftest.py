"""The toy backend (toy.py), registered through the registry's public API for one test."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetstack.engine.backends import registry
from fleetstack.engine.backends.base import Backend


@pytest.fixture
def toy_backend() -> Iterator[Backend]:
    spec = importlib.util.spec_from_file_location("toy_backend", Path(__file__).with_name("toy.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with registry.registered(module.ToyBackend()) as backend:
        yield backend
    assert "toy" not in registry.backend_names()
