"""The state store: runs, jobs, fleets, instances in SQLite (default) or PostgreSQL.

    from fleetstack.engine.state import open_state, create_run, RunStatus
    state = open_state()                 # $DSTACK_HOME/state.db, migrated on first use
    run = create_run(state, configuration_path="train.dstack.yml", configuration={...})

Every repository function is one short transaction and returns frozen records
(RunRecord, JobRecord, FleetRecord, InstanceRecord). Never call the network while holding
`state.write()` / `state.read()` open.
"""

from fleetstack.engine.state.common import RecordNotFoundError
from fleetstack.engine.state.db import State, close_all, database_url, open_state
from fleetstack.engine.state.fleets import (
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
from fleetstack.engine.state.records import FleetRecord, InstanceRecord, JobRecord, RunRecord
from fleetstack.engine.state.runs import (
    RunNameInUseError,
    create_job,
    create_run,
    delete_run,
    finish_job,
    finish_run,
    get_job,
    get_run,
    get_run_by_name,
    jobs_of_run,
    list_jobs,
    list_runs,
    set_job_status,
    set_run_status,
    update_job,
    update_run,
)
from fleetstack.engine.state.statuses import (
    FleetStatus,
    IllegalTransitionError,
    InstanceStatus,
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
)

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
