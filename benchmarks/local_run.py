"""Local runs: time to the first log line of `dstack apply -y`, and `dstack ps` over 1,000 runs.

    .venv/bin/python benchmarks/local_run.py [--runs 5]

(a) wall time from starting `dstack apply -f hello.dstack.yml -y` to the job's first output
    line on its stdout (target <= 1 s), median of N;
(b) `dstack ps` and `dstack ps -a` with 1,000 finished runs in a fresh database (target
    <= 0.5 s), median of N; then the same with one running job added, and with one run
    that needs a refresh (its supervisor gone), which imports SQLAlchemy and the lifecycle.
Prints figures, asserts nothing. Every measurement uses a fresh DSTACK_HOME and HOME.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"first_log_line": 1.0, "ps": 0.5}
MARKER = "first-line-from-the-job"
HELLO = f"""type: task
name: bench-hello
commands:
  - echo {MARKER}
  - echo done
resources:
  cpu: 1..
  memory: 1GB..
  disk: 1GB..
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=1000, help="runs in the database for (b)")
    args = parser.parse_args()
    dstack = Path(sys.executable).parent / "dstack"
    if not dstack.exists():
        sys.exit(f"{dstack} not found: run from the project's venv")
    print(f"cpus: {os.cpu_count()}  runs: {args.runs}  python: {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp) / "apply")
        project = Path(tmp) / "project"
        project.mkdir()
        (project / "hello.dstack.yml").write_text(HELLO)
        _first_log_line(dstack, project, env)  # warm the catalog cache and the files
        times = [_first_log_line(dstack, project, env) for _ in range(args.runs)]
        _report("(a) apply -y -> first log line", times, TARGETS["first_log_line"])

        env = _env(Path(tmp) / "ps")
        t0 = time.perf_counter()
        _fill(env, args.count)
        print(f"    (inserting {args.count} finished runs took {time.perf_counter() - t0:.1f} s)")
        for label, argv in (("dstack ps", ["ps"]), ("dstack ps -a", ["ps", "-a"])):
            times = [_wall([str(dstack), *argv], env) for _ in range(args.runs + 1)][1:]
            _report(f"(b) {label}, {args.count} finished runs", times, TARGETS["ps"])

        running = _start_sleeper(env)
        try:
            for label, argv in (("dstack ps", ["ps"]), ("dstack ps -a", ["ps", "-a"])):
                times = [_wall([str(dstack), *argv], env) for _ in range(args.runs + 1)][1:]
                _report(f"(b) {label}, + 1 running job", times, TARGETS["ps"])
            times = []
            for _ in range(args.runs):
                _add_stale_run(env)  # settled by the refresh of the ps that follows
                times.append(_wall([str(dstack), "ps"], env))
            _report("(b) dstack ps, + 1 run needing a refresh", times, TARGETS["ps"])
        finally:
            subprocess.run([str(dstack), "stop", running, "-x", "-y"], env=env, capture_output=True)


def _env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home), "DSTACK_HOME": str(home / ".dstack")}
    env.pop("DSTACK_DATABASE_URL", None)
    return env


def _first_log_line(dstack: Path, project: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(dstack), "apply", "-f", "hello.dstack.yml", "-y"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    elapsed = float("nan")
    for line in proc.stdout:
        if MARKER.encode() in line:
            elapsed = time.perf_counter() - t0
            break
    proc.stdout.read()
    proc.wait(timeout=60)
    return elapsed


def _fill(env: dict[str, str], count: int) -> None:
    """Insert `count` finished runs shaped like `dstack apply` leaves them (in a subprocess:
    the DSTACK_HOME of this process stays untouched)."""
    code = f"""
from fleetstack.engine.state import *
state = open_state()
offer = {{"backend": "local", "region": "local", "resources": {{"gpus": []}}, "price": 0.0}}
config = {{"type": "task", "commands": ["python train.py --epochs 3"], "env": {{"A": "1"}}}}
for i in range({count}):
    run = create_run(state, configuration=config, backend="local", region="local", price=0.0,
                     resources="2xCPU, 8GB, 100GB (disk)")
    update_run(state, run.id, run_spec={{"offer": offer, "run_args": [], "retry": None}})
    job = create_job(state, run.id, status=JobStatus.RUNNING)
    if i % 10 == 3:
        finish_job(state, job.id, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, exit_status=3)
        set_run_status(state, run.id, RunStatus.RUNNING)
        finish_run(state, run.id, RunTerminationReason.JOB_FAILED, error="exited (3)")
    else:
        finish_job(state, job.id, JobTerminationReason.DONE_BY_RUNNER, exit_status=0)
        set_run_status(state, run.id, RunStatus.RUNNING)
        finish_run(state, run.id, RunTerminationReason.ALL_JOBS_DONE, error="")
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def _start_sleeper(env: dict[str, str]) -> str:
    with tempfile.TemporaryDirectory() as project:
        config = Path(project) / "sleeper.dstack.yml"
        config.write_text(
            HELLO.replace("bench-hello", "bench-sleeper").replace("echo done", "sleep 600")
        )
        dstack = Path(sys.executable).parent / "dstack"
        subprocess.run([str(dstack), "apply", "-f", str(config), "-y", "-d"], env=env,
                       capture_output=True, check=True)  # fmt: skip
    for _ in range(100):  # the first ps after the start refreshes it to running
        out = subprocess.run([str(dstack), "ps"], env=env, capture_output=True, text=True).stdout
        if "running" in out:
            break
        time.sleep(0.1)
    return "bench-sleeper"


def _add_stale_run(env: dict[str, str]) -> None:
    code = """
import socket
from fleetstack.engine.state import *
state = open_state()
run = create_run(state, status=RunStatus.RUNNING)
job = create_job(state, run.id, status=JobStatus.RUNNING)
update_job(state, job.id, supervisor_pid=2**22 + 1, supervisor_host=socket.gethostname())
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


_cpu: list[float] = []  # CPU seconds (user + sys) of each _wall command, in order


def _wall(command: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    _cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed


def _report(label: str, times: list[float], target: float) -> None:
    """Median wall time against the target. The CPU time, and `dstack --help` timed right
    after, tell a loaded machine (other processes on the CPUs) from a slow command."""
    median = statistics.median(times)
    cpu = statistics.median(_cpu[-len(times) :]) if len(_cpu) >= len(times) else float("nan")
    verdict = "ok" if median <= target else "OVER"
    spread = ", ".join(f"{t:.3f}" for t in times)
    dstack = str(Path(sys.executable).parent / "dstack")
    helps = [_wall([dstack, "--help"], os.environ.copy()) for _ in range(3)]
    print(
        f"{label}: median {median:.3f} s (target <= {target} s: {verdict}), cpu {cpu:.3f} s; "
        f"`dstack --help` now {statistics.median(helps):.3f} s  [{spread}]"
    )


if __name__ == "__main__":
    main()
