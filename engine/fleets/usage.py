"""Which runs use a fleet: a fleet is not deleted under a running job unless asked to be.

A run uses a fleet when it was placed on it (the run's fleet_id) or when one of its
unfinished jobs runs on one of the fleet's instances (the job's instance_id).
"""

from __future__ import annotations

from ..state import FleetRecord, RunRecord, State, instances_of_fleet, jobs_of_run, list_runs


def runs_using(state: State, fleet: FleetRecord) -> list[RunRecord]:
    """The unfinished runs placed on `fleet` or with a live job on one of its instances."""
    instance_ids = {i.id for i in instances_of_fleet(state, fleet.id)}
    using = []
    for run in list_runs(state, include_finished=False, project=fleet.project):
        if run.fleet_id == fleet.id:
            using.append(run)
            continue
        jobs = jobs_of_run(state, run.id, latest_only=True)
        if any(j.instance_id in instance_ids for j in jobs if not j.status.is_finished):
            using.append(run)
    return using
