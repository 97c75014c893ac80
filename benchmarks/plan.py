"""Dry-run plan time of 1, 10 and 50 fleet configurations (`dstack plan -f DIR`, without the
Pulumi CLI), and how one file's cost splits between offers and program evaluation.

    .venv/bin/python benchmarks/plan.py [--runs 3] [--sizes 1,10,50]

Target on 2 cores: 50 fleet configurations in 10 s or less. The files cycle aws, gcp, azure
(`--clouds aws` for one cloud).
Prints figures (wall and CPU time: the machine may be shared), asserts nothing.
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

TARGET_50 = 10.0
GPUS = ("T4", "A10G", "L4", "A100", "24GB..")
CLOUDS = ("aws", "gcp", "azure")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--clouds", default=",".join(CLOUDS), help="the files cycle these")
    args = parser.parse_args()
    clouds = tuple(args.clouds.split(","))
    dstack = Path(sys.executable).parent / "dstack"
    if not dstack.exists():
        sys.exit(f"{dstack} not found: run from the project's venv")
    print(f"cpus: {os.cpu_count()}  runs: {args.runs}  python: {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "HOME": tmp, "DSTACK_HOME": str(home)}
        env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"  # no pulumi: offline
        for size in (int(s) for s in args.sizes.split(",")):
            folder = _fleets(Path(tmp) / f"fleets-{size}", size, clouds)
            command = [str(dstack), "plan", "-f", str(folder)]
            runs = [_run(command, env) for _ in range(args.runs + 1)][1:]  # first warms caches
            times = [wall for wall, _cpu in runs]
            cpu = statistics.median(c for _wall, c in runs)
            median = statistics.median(times)
            verdict = ""
            if size == 50:
                verdict = f"  (target {TARGET_50:.0f} s: {'ok' if median <= TARGET_50 else 'OVER'})"
            print(f"dstack plan -f <{size:>2} fleet files>  median {median:6.2f} s  "
                  f"min {min(times):6.2f} s  max {max(times):6.2f} s  CPU {cpu:6.2f} s"
                  f"{verdict}")  # fmt: skip
        os.environ.update(HOME=tmp, DSTACK_HOME=str(home))
        os.environ["PATH"] = env["PATH"]
        _split(_fleets(Path(tmp) / "split", 15, CLOUDS))


def _split(folder: Path) -> None:
    """Per file, in this process: loading + offers (build_plan) vs the stack program's
    offline evaluation (plan_stack), per cloud, CPU time, after each cloud's first file
    (which pays its SDK's import)."""
    from fleetstack.engine.backends.config import load_backends_config
    from fleetstack.engine.config import load_configuration
    from fleetstack.engine.services.plan import build_plan, plan_stack

    config = load_backends_config()
    split: dict[str, tuple[list[float], list[float]]] = {c: ([], []) for c in CLOUDS}
    for n, file in enumerate(sorted(folder.glob("*.dstack.yml"))):
        start = time.process_time()
        plan = build_plan(load_configuration(file, profiles=False))
        middle = time.process_time()
        plan_stack(plan, offline=True, config=config)
        end = time.process_time()
        if n >= len(CLOUDS):
            offers, programs = split[CLOUDS[n % len(CLOUDS)]]
            offers.append(middle - start)
            programs.append(end - middle)
    for cloud, (offers, programs) in split.items():
        offer_ms = statistics.median(offers) * 1000
        program_ms = statistics.median(programs) * 1000
        print(f"per {cloud} file (CPU, median of {len(offers)}): offers {offer_ms:.0f} ms, "
              f"program evaluation {program_ms:.0f} ms")  # fmt: skip


def _fleets(folder: Path, count: int, clouds: tuple[str, ...]) -> Path:
    folder.mkdir(parents=True)
    for n in range(count):
        cloud, gpu = clouds[n % len(clouds)], GPUS[n % len(GPUS)]
        (folder / f"fleet-{n:02}.dstack.yml").write_text(
            f"type: fleet\nname: fleet-{n:02}\nbackends: [{cloud}]\nnodes: {1 + n % 3}\n"
            f"resources:\n  gpu: {gpu}\n"
        )
    return folder


def _run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of `command`: on a shared machine the CPU time is the steadier."""
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{proc.stdout.decode()}{proc.stderr.decode()}")
    return elapsed, cpu


if __name__ == "__main__":
    main()
