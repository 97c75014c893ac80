"""`dstack event` through the real CLI: a run's transitions, named as the user named them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DSTACK = str(Path(sys.executable).parent / "dstack")


def dstack(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DSTACK, *args], cwd=cwd, env=dict(os.environ), capture_output=True, text=True, timeout=120
    )


def test_a_run_s_events_name_it_and_follow_its_status_machine(tmp_path):
    config = tmp_path / "ev.dstack.yml"
    config.write_text(
        "type: task\nname: evrun\nresources: {cpu: 1.., memory: 0GB..}\ncommands: [echo hi]\n"
    )
    assert dstack("apply", "-f", str(config), "-y", "-b", "local", cwd=tmp_path).returncode == 0
    other = tmp_path / "other.dstack.yml"
    other.write_text(config.read_text().replace("evrun", "other"))
    assert dstack("apply", "-f", str(other), "-y", "-b", "local", cwd=tmp_path).returncode == 0

    listed = dstack("event", "--run", "evrun")

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    run_moves = [line.split("  ")[-1].strip() for line in lines if " run " in f" {line} "]
    assert any("submitted -> running" in line for line in lines if "evrun (" in line)
    assert any("running -> done" in line for line in lines if "evrun (" in line), run_moves
    assert any("evrun job 0" in line for line in lines)
    assert not any("other" in line for line in lines)  # only that run and its jobs
    assert "other (" in dstack("event").stdout


def test_an_unknown_run_is_one_line(tmp_path):
    result = dstack("event", "--run", "nope")

    assert result.returncode == 1
    assert "run nope not found" in result.stderr and "Traceback" not in result.stderr
