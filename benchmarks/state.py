"""State DB figures: open_state on new/existing files, list_runs over 1,000 runs, writes.

.venv/bin/python benchmarks/state.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    t0 = time.perf_counter()
    from fleetstack.engine.state import (
        State,
        create_job,
        create_run,
        get_run_by_name,
        list_runs,
        open_state,
    )

    print(f"import fleetstack.engine.state: {_ms(time.perf_counter() - t0)} (SQLAlchemy included)")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'state.db'}"
        t0 = time.perf_counter()
        state = open_state(url)
        print(f"open_state, new file (alembic upgrade head): {_ms(time.perf_counter() - t0)}")

        opens = []
        for _ in range(20):
            t0 = time.perf_counter()
            fresh = State(url)
            fresh.migrate()  # the fast path: one SELECT on alembic_version
            opens.append(time.perf_counter() - t0)
            fresh.close()
        print(f"open_state, existing file (median of 20): {_ms(statistics.median(opens))}")

        t0 = time.perf_counter()
        for _ in range(1000):
            run = create_run(state, configuration={"type": "task", "commands": ["python t.py"]})
            create_job(state, run.id)
        write = time.perf_counter() - t0
        print(f"create_run + create_job x1000: {_ms(write)} ({_ms(write / 1000)} per pair)")

        reads = []
        for _ in range(10):
            t0 = time.perf_counter()
            runs = list_runs(state)
            reads.append(time.perf_counter() - t0)
        assert len(runs) == 1000
        print(f"list_runs, 1,000 runs (median of 10): {_ms(statistics.median(reads))}")
        t0 = time.perf_counter()
        list_runs(state, include_finished=False, limit=50)
        print(f"list_runs(limit=50): {_ms(time.perf_counter() - t0)}")
        t0 = time.perf_counter()
        get_run_by_name(state, runs[500].name)
        print(f"get_run_by_name: {_ms(time.perf_counter() - t0)}")

        code = (
            "import time; t=time.perf_counter()\n"
            "from fleetstack.engine.state import open_state, list_runs\n"
            "t1=time.perf_counter()\n"
            f"s=open_state({url!r})\n"
            "t2=time.perf_counter(); n=len(list_runs(s)); t3=time.perf_counter()\n"
            "print(f'import {(t1-t)*1000:.1f} ms, open_state {(t2-t1)*1000:.1f} ms, '\n"
            "      f'list_runs {(t3-t2)*1000:.1f} ms ({n} runs)')"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        print(f"fresh process, import + open + list_runs: {out.stdout.strip()}")


if __name__ == "__main__":
    main()
