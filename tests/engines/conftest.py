"""The recording stack engine for tests that drive stacks through the real CLI.

def test_x(recording_cli):
    result = recording_cli("apply", "-f", str(fleet_file), "-y")
    assert recording_cli.engine.stacks() == ["main-my-fleet"]
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .dstack_recording import STATE_VAR
from .recording import RecordingEngine

ENTRY = Path(__file__).with_name("dstack_recording.py")


@dataclass
class RecordingCLI:
    """`dstack ARGS` in a subprocess whose stacks the recording engine answers."""

    engine: RecordingEngine
    env: dict[str, str]

    def __call__(
        self, *args: str, cwd: Path | None = None, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ENTRY), *args],
            cwd=cwd,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture
def recording_cli(tmp_path: Path) -> Iterator[RecordingCLI]:
    """The CLI with `stack_engine: recording` for aws, gcp and azure in config.yml."""
    home = Path(os.environ["DSTACK_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yml").write_text(
        "backends:\n"
        + "".join(f"  - type: {cloud}\n    stack_engine: recording\n" for cloud in CLOUDS)
    )
    engine = RecordingEngine(tmp_path / "recorded-stacks")
    env = {**os.environ, STATE_VAR: str(engine.state_dir)}
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"  # never a pulumi binary
    yield RecordingCLI(engine, env)


CLOUDS = ("aws", "gcp", "azure")
