"""Fixtures of the run lifecycle tests: a state DB in DSTACK_HOME, project folders, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fleetstack.engine.state import close_all, open_state

from ..helpers import WAIT

DSTACK = str(Path(sys.executable).parent / "dstack")


@pytest.fixture
def state(isolated_home):
    """The state DB the CLI and the supervisors use: $DSTACK_HOME/state.db."""
    db = open_state()
    yield db
    close_all()


@pytest.fixture
def project(tmp_path) -> Callable[..., Path]:
    """project(yaml, files={...}) -> path of the configuration file in a fresh project folder."""

    def make(
        config: str, *, files: dict[str, str | bytes] | None = None, git: bool = False
    ) -> Path:
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)
        if git:
            (root / ".git").mkdir(exist_ok=True)
            (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
        for name, content in (files or {}).items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        config_path = root / ".dstack.yml"
        config_path.write_text(config)
        return config_path

    return make


def dstack(*args: str, cwd: Path | None = None, timeout: float = WAIT, **kwargs):
    """Run the real `dstack` CLI; returns the CompletedProcess (bytes)."""
    return subprocess.run(
        [DSTACK, *args],
        cwd=cwd,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        **kwargs,
    )
