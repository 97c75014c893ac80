"""One reconciler pass over a large state: 1,000 fleets / 4,000 instances / 10,000 runs
(target <= 1 s), and the same at 10x, to show how a pass grows.

    .venv/bin/python benchmarks/reconcile.py [--scale 1 10] [--active 0.1] [--url URL]

Rows are bulk-inserted into a fresh SQLite file (or the PostgreSQL database at --url, which
must be empty). Of the runs, the `--active` share is running (its job running on another
host, so the pass follows it without touching a process); the rest are done. Fleets are
active with 4 instances each, idle_duration 1 day (not due). Prints the time of the first
pass and the median of the next ones; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

TARGET_SECONDS = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--active", type=float, default=0.1, help="share of runs running")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--url", help="an empty database (default: a fresh SQLite file)")
    args = parser.parse_args()
    for scale in args.scale:
        with tempfile.TemporaryDirectory() as home:
            os.environ["DSTACK_HOME"] = home
            url = args.url or f"sqlite:///{Path(home) / 'state.db'}"
            measure(url, scale, args.active, args.passes)


def measure(url: str, scale: int, active: float, passes: int) -> None:
    from fleetstack.engine.reconciler.core import Reconciler
    from fleetstack.engine.state import close_all, open_state

    fleets, instances, runs = 1000 * scale, 4000 * scale, 10000 * scale
    state = open_state(url)
    started = time.perf_counter()
    populate(state, fleets=fleets, instances_per_fleet=instances // fleets, runs=runs,
             active=int(runs * active))  # fmt: skip
    filled = time.perf_counter() - started
    reconciler = Reconciler(state, driver_for=_no_driver)
    times = []
    for _ in range(passes):
        t0 = time.perf_counter()
        report = reconciler.run_pass()
        times.append(time.perf_counter() - t0)
        assert not report.errors, report.errors
    rest = statistics.median(times[1:]) if len(times) > 1 else times[0]
    print(
        f"{fleets:>6} fleets {instances:>6} instances {runs:>7} runs ({int(runs * active)} "
        f"running): first pass {times[0]:.3f} s, then median {rest:.3f} s "
        f"(target <= {TARGET_SECONDS} s at 1x; filled in {filled:.1f} s)"
    )
    close_all()


def populate(state, *, fleets: int, instances_per_fleet: int, runs: int, active: int) -> None:  # noqa: ANN001
    from fleetstack.engine.state.models import FleetRow, InstanceRow, JobRow, RunRow
    from sqlalchemy import insert

    now = datetime.now(UTC)
    old = now - timedelta(hours=1)
    fleet_rows, instance_rows, run_rows, job_rows = [], [], [], []
    for f in range(fleets):
        fleet_id = str(uuid.uuid4())
        fleet_rows.append(dict(
            id=fleet_id, project="main", name=f"fleet-{f}", status="active",
            spec={"cloud": "aws", "idle_duration": 86400}, backend="aws",
            stack_name=f"main-fleet-{f}", created_at=old, last_processed_at=old,
            idle_since=old, deleted=False,
        ))  # fmt: skip
        for i in range(instances_per_fleet):
            instance_rows.append(dict(
                id=str(uuid.uuid4()), fleet_id=fleet_id, name=f"fleet-{f}-{i}", instance_num=i,
                backend="aws", status="idle", spot=False, created_at=old,
                last_processed_at=old, idle_since=old,
            ))  # fmt: skip
    for r in range(runs):
        run_id = str(uuid.uuid4())
        running = r < active
        run_rows.append(dict(
            id=run_id, project="main", name=f"run-{r}", status="running" if running else "done",
            termination_reason=None if running else "all_jobs_done", backend="aws",
            submitted_at=old, last_processed_at=old, finished_at=None if running else old,
            deleted=False,
        ))  # fmt: skip
        job_rows.append(dict(
            id=str(uuid.uuid4()), run_id=run_id, job_num=0, replica_num=0, submission_num=0,
            status="running" if running else "done",
            termination_reason=None if running else "done_by_runner",
            supervisor_pid=1, supervisor_host="another-host", supervisor_token="x:1",
            submitted_at=old, started_at=old, finished_at=None if running else old,
            last_processed_at=old,
        ))  # fmt: skip
    with state.write() as session:
        for model, rows in ((FleetRow, fleet_rows), (InstanceRow, instance_rows),
                            (RunRow, run_rows), (JobRow, job_rows)):  # fmt: skip
            for start in range(0, len(rows), 5000):
                session.execute(insert(model), rows[start : start + 5000])


def _no_driver(cloud: str):  # noqa: ANN202 - no fleet is due: a destroy would be a bug
    raise AssertionError(f"no fleet should be released ({cloud})")


if __name__ == "__main__":
    main()
