"""Shared test fixtures: every test gets its own DSTACK_HOME and HOME in a temp dir."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Keep tests hermetic: nothing reads or writes the real ~/.dstack."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DSTACK_HOME", str(home / ".dstack"))
    monkeypatch.delenv("GPUHUNT_CATALOG_DIR", raising=False)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    return home
