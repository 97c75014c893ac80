"""Hostile input is refused fast and small: billion-laughs aliases, /dev/zero, /dev/urandom,
a FIFO, a folder. Each refusal is one line naming the file and the limit; the refusal is
measured in a subprocess of its own (CPU time of the refusal, peak RSS of the process).

The figures are asserted because the issue requires them (< 1 s, < 100 MB); CPU time is
measured rather than wall time, since this machine's load must not decide the outcome (a
hang is caught by the subprocess timeout).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import dstack

MEASURE = """
import json, sys, time
from fleetstack.engine.config.validation import validate_file
start_cpu, start = time.process_time(), time.monotonic()
report = validate_file(sys.argv[1])
cpu, wall = time.process_time() - start_cpu, time.monotonic() - start
status = open("/proc/self/status").read()
hwm_kb = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1])
print(json.dumps({"ok": report.ok, "error": report.error, "cpu": cpu, "wall": wall,
                  "hwm_kb": hwm_kb}))
"""


def billion_laughs(levels: int) -> str:
    lines = [
        "type: task",
        'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append("commands: [echo]")
    return "\n".join(lines) + "\n"


def measure(path: Path | str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    print(f"{path}: {figures['cpu']:.3f} s CPU, {figures['wall']:.3f} s, "
          f"{figures['hwm_kb'] / 1024:.1f} MB peak RSS")  # fmt: skip
    return figures


def refusal(path: Path) -> str:
    """The one line `dstack validate path` refuses it with (exit code 1)."""
    proc = dstack("validate", str(path))
    assert proc.returncode == 1
    (line,) = proc.stdout.splitlines() + proc.stderr.splitlines()
    return line


def assert_refused_small_and_fast(figures: dict[str, object]) -> None:
    assert figures["ok"] is False
    assert isinstance(figures["cpu"], float) and figures["cpu"] < 1.0
    assert isinstance(figures["hwm_kb"], int) and figures["hwm_kb"] < 100 * 1024


@pytest.mark.parametrize("levels", range(7, 13))
def test_billion_laughs_is_refused_fast_and_small(tmp_path, levels):
    path = tmp_path / f"laughs{levels}.dstack.yml"
    path.write_text(billion_laughs(levels))
    assert path.stat().st_size < 1000
    assert_refused_small_and_fast(measure(path))
    # line 7 holds a5 (9**6 values): the first alias past the limit, whatever follows
    assert refusal(path) == (
        f"{path}:7: expands to more than 100000 values through its anchors and "
        "aliases (&name, *name), the limit of a configuration: write the values out or use "
        "fewer aliases"
    )


def test_a_few_aliases_are_still_fine(tmp_path):
    path = tmp_path / "ok.dstack.yml"
    path.write_text("type: task\nname: &n aliased\nenv:\n  NAME: *n\ncommands: &c [echo]\n")
    proc = dstack("validate", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{path}: OK (task aliased:")


@pytest.mark.parametrize(
    ("source", "kind"),
    [("/dev/zero", "device"), ("/dev/urandom", "device"), ("fifo", "FIFO (named pipe)")],
)
def test_devices_and_fifos_are_refused_before_a_byte_is_read(tmp_path, source, kind):
    path = Path(source)
    if source == "fifo":
        path = tmp_path / "pipe.dstack.yml"
        os.mkfifo(path)  # no writer: reading it would hang
    assert_refused_small_and_fast(measure(path))
    assert refusal(path) == (
        f"{path}: is a {kind}, not a regular file: a configuration is read from a file only"
    )


def test_a_folder_and_a_big_file_are_refused_naming_the_limit(tmp_path):
    assert refusal(tmp_path) == (
        f"{tmp_path}: is a directory: pass the .dstack.yml file inside it with -f"
    )
    big = tmp_path / "big.dstack.yml"
    big.write_text("type: task\n" + "# padding\n" * 200_000)
    assert refusal(big) == (
        f"{big}: is over the 1 MB limit of a configuration file (a few KB of YAML): is this "
        "the right file?"
    )
