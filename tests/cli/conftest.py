"""Fixtures of the CLI tests: a small offers catalog written for the test."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

CATALOG_HEADER = "instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size,gpu_vendor,flags,cpu_arch,provider_data"  # noqa: E501


@pytest.fixture
def use_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """use_catalog({provider: [csv rows]}, backends=[...]) -> the catalog folder.

    The rows become gpuhunt's catalog (GPUHUNT_CATALOG_DIR), and $DSTACK_HOME/config.yml
    configures exactly `backends`.
    """

    def use(catalog: dict[str, list[str]], *, backends: list[str]) -> Path:
        folder = tmp_path / "catalog"
        folder.mkdir()
        for provider, rows in catalog.items():
            (folder / f"{provider}.csv").write_text("\n".join([CATALOG_HEADER, *rows]) + "\n")
        monkeypatch.setenv("GPUHUNT_CATALOG_DIR", str(folder))
        home = Path(os.environ["DSTACK_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        listed = "".join(f"  - type: {backend}\n" for backend in backends)
        (home / "config.yml").write_text("backends:\n" + listed)
        return folder

    return use
