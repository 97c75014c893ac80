"""Fixtures for the security tests: the real CLI as a subprocess, in the test's DSTACK_HOME
(tests/conftest.py gives each test its own), and a walk over every file under it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetstack.engine.paths import dstack_home

from ..helpers import WAIT

DSTACK = str(Path(sys.executable).parent / "dstack")


def dstack(
    *args: str,
    input: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    umask: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI; text stdout and stderr. `umask` is the caller's umask."""
    return subprocess.run(
        [DSTACK, *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=env or os.environ.copy(),
        cwd=cwd,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
    )


def tree(root: Path) -> Iterator[Path]:
    """Every file, folder and link under root (root included), without following links."""
    yield root
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            yield Path(folder) / name


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder (copied to the job), apart from the test's other files."""
    (tmp_path / "project").mkdir()
    return tmp_path / "project"


@pytest.fixture
def home() -> Path:
    return dstack_home()
