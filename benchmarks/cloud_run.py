"""A task on a stack cloud's offer, end to end on the VM stack engine: where its time goes.

    .venv/bin/python benchmarks/cloud_run.py [--runs 3]

The real CLI (tests/vm/dstack_vm.py: `dstack` with the VM engine registered) applies a task
whose only offers are on aws; the background server's provisioner brings the run's fleet
up (the VM engine boots an instance from our user-data under systemd-nspawn), waits for SSH
and cloud-init, and starts the job over SSH. Printed:
(a) a fresh run: wall time from `apply -y` to its first output line and to its exit, and
    the provisioner's own steps (up, SSH + cloud-init, start) from its provision.log stamps;
(b) a run that takes the fleet's idle instance: `apply -y` to the first output line.
The instance boot itself is the bench's (nspawn + cloud-init), not a cloud's: what this
measures is fleetstack's share around it. Prints figures, asserts nothing. Needs what
tests/vm needs (root, systemd-nspawn, debootstrap; the bench's base is built once).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ENTRY = REPO / "tests" / "vm" / "dstack_vm.py"
MARKER = "cloud-run-first-line"
TASK = (
    "type: task\nname: {name}\nbackends: [aws]\nidle_duration: 10m\n"
    "resources:\n  cpu: 2..\n  memory: 8GB..\ncommands:\n  - echo " + MARKER + "\n"
)
STAMP = re.compile(r"^\[\s*([0-9.]+)s\] (.*)$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from tests.vm.dstack_vm import BENCH_VAR, STATE_VAR
    from tests.vm.harness import missing_pieces, open_bench, stop_machine

    reason = missing_pieces()
    if reason:
        sys.exit(reason)
    print(f"cpus: {os.cpu_count()}  runs: {args.runs}  python: {sys.version.split()[0]}")
    bench = open_bench(dict(os.environ))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            home = root / "dstack"
            home.mkdir(mode=0o700)
            (home / "config.yml").write_text("backends:\n  - type: aws\n    stack_engine: vm\n")
            env = {**os.environ, "DSTACK_HOME": str(home), "HOME": str(root),
                   BENCH_VAR: str(bench.index), STATE_VAR: str(root / "vm-stacks")}  # fmt: skip
            env["PATH"] = f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin"
            project = root / "project"
            project.mkdir()
            fresh, steps, reused = [], [], []
            for number in range(args.runs):
                name = f"fresh-{number}"
                first, total, stderr = _apply(env, project, name)
                fresh.append((first, total))
                steps.append(_steps(stderr))
                reused.append(_apply(env, project, f"again-{number}")[0])
                _dstack(env, "fleet", "delete", name, "-y")
            _dstack(env, "server", "--stop")
            for stack in (root / "vm-stacks").glob("*.json"):  # left by a run that failed
                for machine in json.loads(stack.read_text())["machines"]:
                    stop_machine(machine["machine"])
    finally:
        bench.close()
    firsts = [f for f, _ in fresh]
    print(f"(a) fresh run, apply -y -> first output line: median {statistics.median(firsts):.1f} s "
          f"(min {min(firsts):.1f}, max {max(firsts):.1f}); -> exit: median "
          f"{statistics.median(t for _, t in fresh):.1f} s")  # fmt: skip
    for label in ("up", "ready", "start"):
        values = [s[label] for s in steps if label in s]
        if values:
            print(f"    provisioner, {label:5s} at: median {statistics.median(values):.1f} s "
                  "after it began")  # fmt: skip
    low, high = min(reused), max(reused)
    print(f"(b) reused idle instance, apply -y -> first output line: median "
          f"{statistics.median(reused):.2f} s (min {low:.2f}, max {high:.2f})")  # fmt: skip


def _apply(env: dict[str, str], project: Path, name: str) -> tuple[float, float, str]:
    path = project / f"{name}.dstack.yml"
    path.write_text(TASK.format(name=name))
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(ENTRY), "apply", "-f", str(path), "-y"],
                            cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    first = float("nan")
    for line in proc.stdout:
        if MARKER in line:
            first = time.monotonic() - started
            break
    proc.stdout.read()
    _, stderr = proc.communicate(timeout=600)
    return first, time.monotonic() - started, stderr


def _steps(stderr: str) -> dict[str, float]:
    """When the provisioner's stack was up, its instance ready, its job started."""
    found: dict[str, float] = {}
    for line in stderr.splitlines():
        match = STAMP.match(line.strip())
        if match is None:
            continue
        seconds, text = float(match.group(1)), match.group(2)
        if ": up" in text:
            found["up"] = seconds
        elif "is ready" in text:
            found["ready"] = seconds
        elif text.startswith("starting the job"):
            found["start"] = seconds
    return found


def _dstack(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(ENTRY), *args], env=env, capture_output=True,
                   timeout=300, check=False)  # fmt: skip


if __name__ == "__main__":
    main()
