"""The state store: runs, jobs, fleets, instances in SQLite (default) or PostgreSQL.

    from fleetstack.engine.state import open_state, create_run, RunStatus
    state = open_state()                 # $DSTACK_HOME/state.db, migrated on first use
    run = create_run(state, configuration_path="train.dstack.yml", configuration={...})

Every repository function is one short transaction and returns frozen records
(RunRecord, JobRecord, FleetRecord, InstanceRecord). Never call the network while holding
`state.write()` / `state.read()` open.
"""

# Importing the repository loads SQLAlchemy (~0.35 s). The package's names are therefore
# loaded on first use, so the fast read path (fastread.py) and the migration constants
# can be imported from here without it.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models.statuses import (
        FleetStatus,
        IllegalTransitionError,
        InstanceStatus,
        JobStatus,
        JobTerminationReason,
        RunStatus,
        RunTerminationReason,
    )
    from .common import RecordNotFoundError
    from .db import State, close_all, database_url, open_state
    from .fleets import (
        FleetNameInUseError,
        create_fleet,
        create_instance,
        get_fleet,
        get_fleet_by_name,
        get_instance,
        instances_of_fleet,
        list_fleets,
        list_instances,
        set_fleet_status,
        set_instance_status,
        update_fleet,
        update_instance,
    )
    from .records import FleetRecord, InstanceRecord, JobRecord, RunRecord
    from .runs import (
        RunNameInUseError,
        create_job,
        create_run,
        create_run_with_jobs,
        delete_run,
        finish_job,
        finish_run,
        get_job,
        get_run,
        get_run_by_name,
        jobs_of_run,
        latest_jobs_of_runs,
        list_jobs,
        list_runs,
        set_job_status,
        set_run_status,
        update_job,
        update_run,
    )

_HOME = {
    "FleetNameInUseError": ".fleets",
    "FleetRecord": ".records",
    "FleetStatus": "..models.statuses",
    "IllegalTransitionError": "..models.statuses",
    "InstanceRecord": ".records",
    "InstanceStatus": "..models.statuses",
    "JobRecord": ".records",
    "JobStatus": "..models.statuses",
    "JobTerminationReason": "..models.statuses",
    "RecordNotFoundError": ".common",
    "RunNameInUseError": ".runs",
    "RunRecord": ".records",
    "RunStatus": "..models.statuses",
    "RunTerminationReason": "..models.statuses",
    "State": ".db",
    "close_all": ".db",
    "create_fleet": ".fleets",
    "create_instance": ".fleets",
    "create_job": ".runs",
    "create_run": ".runs",
    "create_run_with_jobs": ".runs",
    "database_url": ".db",
    "delete_run": ".runs",
    "finish_job": ".runs",
    "finish_run": ".runs",
    "get_fleet": ".fleets",
    "get_fleet_by_name": ".fleets",
    "get_instance": ".fleets",
    "get_job": ".runs",
    "get_run": ".runs",
    "get_run_by_name": ".runs",
    "instances_of_fleet": ".fleets",
    "jobs_of_run": ".runs",
    "latest_jobs_of_runs": ".runs",
    "list_fleets": ".fleets",
    "list_instances": ".fleets",
    "list_jobs": ".runs",
    "list_runs": ".runs",
    "open_state": ".db",
    "set_fleet_status": ".fleets",
    "set_instance_status": ".fleets",
    "set_job_status": ".runs",
    "set_run_status": ".runs",
    "update_fleet": ".fleets",
    "update_instance": ".fleets",
    "update_job": ".runs",
    "update_run": ".runs",
}
__all__ = [
    "FleetNameInUseError",
    "FleetRecord",
    "FleetStatus",
    "IllegalTransitionError",
    "InstanceRecord",
    "InstanceStatus",
    "JobRecord",
    "JobStatus",
    "JobTerminationReason",
    "RecordNotFoundError",
    "RunNameInUseError",
    "RunRecord",
    "RunStatus",
    "RunTerminationReason",
    "State",
    "close_all",
    "create_fleet",
    "create_instance",
    "create_job",
    "create_run",
    "create_run_with_jobs",
    "database_url",
    "delete_run",
    "finish_job",
    "finish_run",
    "get_fleet",
    "get_fleet_by_name",
    "get_instance",
    "get_job",
    "get_run",
    "get_run_by_name",
    "instances_of_fleet",
    "jobs_of_run",
    "latest_jobs_of_runs",
    "list_fleets",
    "list_instances",
    "list_jobs",
    "list_runs",
    "open_state",
    "set_fleet_status",
    "set_instance_status",
    "set_job_status",
    "set_run_status",
    "update_fleet",
    "update_instance",
    "update_job",
    "update_run",
]


def __getattr__(name: str) -> object:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
