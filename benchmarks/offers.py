"""Benchmark `dstack offer --gpu 24GB.. --json` on synthetic gpuhunt catalogs (50k/100k/200k rows).

Run: .venv/bin/python benchmarks/offers.py [ROWS ...]    (median wall time of 5 runs per size)
Each size is timed cold (fresh DSTACK_HOME: the CSVs are parsed), warm (parsed rows loaded
from $DSTACK_HOME/cache), and warm with --spot-auto (twice the matches).
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIELDS = [
    "instance_name", "location", "price", "cpu", "memory", "gpu_count", "gpu_name",
    "gpu_memory", "spot", "disk_size", "gpu_vendor", "flags", "cpu_arch", "provider_data",
]  # fmt: skip
GPUS = [
    ("T4", 16),
    ("L4", 24),
    ("A10G", 24),
    ("L40S", 48),
    ("A100", 40),
    ("A100", 80),
    ("H100", 80),
    ("", 0),
]
PROVIDERS = ("aws", "gcp", "azure", "lambdalabs")


def generate(directory: Path, rows: int, seed: int = 1) -> None:
    """Write `rows` synthetic rows spread over PROVIDERS as <provider>.csv."""
    rnd = random.Random(seed)
    per = rows // len(PROVIDERS)
    for provider in PROVIDERS:
        with open(directory / f"{provider}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(FIELDS)
            for i in range(per):
                gpu, mem = rnd.choice(GPUS)
                count = rnd.choice((1, 2, 4, 8)) if gpu else 0
                cpus = rnd.choice((2, 4, 8, 16, 32, 96))
                w.writerow([
                    f"{provider}-type-{i % 5000}", f"region-{i % 40}",
                    f"{rnd.uniform(0.05, 100):.4f}",
                    cpus, cpus * 4, count, gpu if count else "", mem if count else "",
                    rnd.random() < 0.5, 100.0, "nvidia" if count else "", "", "x86", "{}",
                ])  # fmt: skip


def time_offer(
    directory: Path, *extra: str, runs: int = 5, cold: bool = False
) -> tuple[float, int]:
    """Median wall and CPU (user+sys) seconds of `dstack offer --gpu 24GB.. --json [extra]`.

    cold: every run gets a fresh DSTACK_HOME, so the CSVs are parsed each time; otherwise one
    priming run fills $DSTACK_HOME/cache first (what a user sees from the second call on).
    """
    cmd = [
        sys.executable,
        "-m",
        "fleetstack.cli.main",
        "offer",
        "--gpu",
        "24GB..",
        "--json",
        *extra,
    ]
    times, cpu, total = [], [], 0
    with tempfile.TemporaryDirectory() as homes:
        env = {**os.environ, "GPUHUNT_CATALOG_DIR": str(directory)}
        if not cold:
            env["DSTACK_HOME"] = str(Path(homes) / "warm")
            subprocess.run(cmd, env=env, capture_output=True, check=True)
        for i in range(runs):
            if cold:
                env["DSTACK_HOME"] = str(Path(homes) / f"cold-{i}")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            total = json.loads(out)["total_offers"]
    return statistics.median(times), statistics.median(cpu), total


def main() -> None:
    print(f"dstack offer --gpu 24GB.. --json, median of 5 runs, {os.cpu_count()} CPUs")
    sizes = [int(a) for a in sys.argv[1:]] or [50_000, 100_000, 200_000]
    for rows in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), rows)
            for label, extra, cold in (
                ("cold (CSV parsed) ", (), True),
                ("warm (cached rows)", (), False),
                ("warm, --spot-auto ", ("--spot-auto",), False),
            ):
                median, cpu, total = time_offer(Path(tmp), *extra, cold=cold)
                print(
                    f"{rows:>7} rows  {label}  {median:5.2f} s wall  {cpu:5.2f} s CPU  "
                    f"({total} offers)"
                )


if __name__ == "__main__":
    main()
