"""Fixtures of the CLI tests: a small offers catalog (tests/cli/catalogs/NAME/) for the test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

CATALOGS = Path(__file__).parent / "catalogs"


@pytest.fixture
def use_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """use_catalog(NAME, backends=[...]) -> the catalog folder.

    A copy of tests/cli/catalogs/NAME/ becomes gpuhunt's catalog (GPUHUNT_CATALOG_DIR), and
    $DSTACK_HOME/config.yml configures exactly `backends`.
    """

    def use(name: str, *, backends: list[str]) -> Path:
        folder = tmp_path / "catalog"
        shutil.copytree(CATALOGS / name, folder)
        monkeypatch.setenv("GPUHUNT_CATALOG_DIR", str(folder))
        home = Path(os.environ["DSTACK_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        listed = "".join(f"  - type: {backend}\n" for backend in backends)
        (home / "config.yml").write_text("backends:\n" + listed)
        return folder

    return use
