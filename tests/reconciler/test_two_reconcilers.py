"""Two reconcilers, in two processes, against one database: no job is started twice."""

from __future__ import annotations

import json
import subprocess
import sys

from fleetstack.engine.models.statuses import RunStatus
from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.state import get_run, jobs_of_run
from fleetstack.engine.state.events import list_events

from ..helpers import WAIT, wait_for
from .conftest import SMALL_HOST, task

_PASSES = """
import json, sys
from fleetstack.engine.backends.local.host import HostResources
from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.state import open_state

big = HostResources(cpus=64, cpu_arch="x86", memory_gb=512.0, disk_gb=1000.0)
reconciler = Reconciler(open_state(sys.argv[1]), host=big)
started = []
for _ in range(3):
    started += reconciler.run_pass().jobs_started
print(json.dumps(started))
"""


def test_two_reconcilers_never_start_the_same_job(state, submit, database_url):
    runs = [submit(task(f"twin-{i}", "echo once", cpu=0)) for i in range(8)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PASSES, database_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    started = [json.loads(p.communicate(timeout=WAIT * 2)[0]) for p in procs]

    assert all(p.returncode == 0 for p in procs)
    first, second = (set(s) for s in started)
    assert not first & second
    jobs = [job for run in runs for job in jobs_of_run(state, run.id)]
    assert first | second == {job.id for job in jobs}  # one job per run: none resubmitted
    follower = Reconciler(state, host=SMALL_HOST)

    def all_finished():
        follower.run_pass()
        return all(get_run(state, run.id).status.is_finished for run in runs)

    wait_for(all_finished, "every run finished")
    assert {get_run(state, run.id).status for run in runs} == {RunStatus.DONE}
    starts = [e for e in list_events(state) if e.entity == "job" and e.to_status == "running"]
    assert sorted(e.entity_id for e in starts) == sorted(job.id for job in jobs)
