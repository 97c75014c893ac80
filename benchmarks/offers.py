"""Benchmark `dstack offer --gpu 24GB.. --json` on synthetic gpuhunt catalogs (50k/100k/200k rows).

Run: .venv/bin/python benchmarks/offers.py    (prints median wall time of 5 runs per size)
"""

from __future__ import annotations

import csv
import json
import os
import random
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


def time_offer(directory: Path, runs: int = 5) -> tuple[float, int]:
    env = {
        **os.environ,
        "GPUHUNT_CATALOG_DIR": str(directory),
        "DSTACK_HOME": str(directory / "home"),
    }
    cmd = [sys.executable, "-m", "fleetstack.cli.main", "offer", "--gpu", "24GB..", "--json"]
    times, total = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - start)
        total = json.loads(out)["total_offers"]
    return statistics.median(times), total


def main() -> None:
    for rows in (50_000, 100_000, 200_000):
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), rows)
            median, total = time_offer(Path(tmp))
            print(
                f"{rows:>7} rows: median {median:.2f} s over 5 runs "
                f"({total} offers, {median / rows * 1e6:.1f} µs/row)"
            )


if __name__ == "__main__":
    main()
