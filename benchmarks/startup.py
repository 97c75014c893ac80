"""Wall time of `dstack --help` and `dstack validate -f FILE` (median of N runs each).

    .venv/bin/python benchmarks/startup.py [--runs 10] [--file examples/hello.dstack.yml]

Targets on 2 cores: --help < 0.25 s, validate < 0.35 s. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"help": 0.25, "validate": 0.35}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--file", default=str(REPO / "examples" / "hello.dstack.yml"))
    args = parser.parse_args()
    dstack = Path(sys.executable).parent / "dstack"
    if not dstack.exists():
        sys.exit(f"{dstack} not found: run from the project's venv")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "DSTACK_HOME": str(Path(home) / ".dstack")}
        commands = {
            "help": [str(dstack), "--help"],
            "validate": [str(dstack), "validate", "-f", args.file],
        }
        print(f"cpus: {os.cpu_count()}  runs: {args.runs}  python: {sys.version.split()[0]}")
        for name, command in commands.items():
            times = [_run(command, env) for _ in range(args.runs + 1)][1:]  # first run warms
            median = statistics.median(times)
            verdict = "ok" if median <= TARGETS[name] else "OVER TARGET"
            print(
                f"{' '.join(['dstack', *command[1:]]):<60} median {median:.3f} s  "
                f"min {min(times):.3f} s  max {max(times):.3f} s  "
                f"(target {TARGETS[name]:.2f} s: {verdict})"
            )


def _run(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{proc.stdout.decode()}{proc.stderr.decode()}")
    return elapsed


if __name__ == "__main__":
    main()
