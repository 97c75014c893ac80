"""The CLI as a subprocess, and SSH fleet / task files for the remote tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..helpers import WAIT

DSTACK = str(Path(sys.executable).parent / "dstack")


def dstack(
    *args: str, cwd: Path | None = None, timeout: float = WAIT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DSTACK, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=timeout, env=os.environ.copy(), cwd=cwd,
    )  # fmt: skip


def start_dstack(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [DSTACK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, env=os.environ.copy(), cwd=cwd,
    )  # fmt: skip


def fleet_file(folder: Path, name: str, daemons: list, *, extra: str = "", hosts: str = "") -> Path:
    """An SSH fleet of the daemons (127.0.0.1 on their ports, user root)."""
    listed = hosts or "".join(
        f"    - hostname: {d.address}\n      port: {d.port}\n" for d in daemons
    )
    path = folder / f"{name}.dstack.yml"
    path.write_text(
        f"type: fleet\nname: {name}\n{extra}ssh_config:\n  user: root\n  hosts:\n{listed}"
    )
    return path


def task_file(folder: Path, name: str, commands: list[str], *, extra: str = "") -> Path:
    body = "".join(f"  - {json.dumps(c)}\n" for c in commands)
    path = folder / f"{name}.dstack.yml"
    path.write_text(
        f"type: task\nname: {name}\nfleets: [onprem]\ncommands:\n{body}"
        "resources:\n  cpu: 1..\n  memory: 1GB..\n  disk: 1GB..\n" + extra
    )
    return path


def apply_fleet(
    folder: Path, daemons: list, name: str = "onprem"
) -> subprocess.CompletedProcess[str]:
    proc = dstack("apply", "-f", str(fleet_file(folder, name, daemons)), "-y", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def ps_json() -> dict[str, dict]:
    proc = dstack("ps", "-a", "--json")
    assert proc.returncode == 0, proc.stderr
    return {run["name"]: run for run in json.loads(proc.stdout)["runs"]}
