"""Statuses of runs, jobs, fleets and instances, and the transitions allowed between them.

The transitions are data: `check_transition` is the one gate every status change in the
repository goes through. An illegal transition is a bug in the engine, not a user error, so
it raises `IllegalTransitionError` (a RuntimeError), never a FleetstackError.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar


class IllegalTransitionError(RuntimeError):
    """A status change that the state machine forbids (a programming error)."""


class RunStatus(StrEnum):
    PENDING = "pending"  # waiting to be (re)submitted, e.g. retry after no capacity
    SUBMITTED = "submitted"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    TERMINATING = "terminating"
    DONE = "done"
    FAILED = "failed"
    TERMINATED = "terminated"

    @property
    def is_finished(self) -> bool:
        return self in _FINAL_RUN


class JobStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    PROVISIONING = "provisioning"
    PULLING = "pulling"  # instance up, image being pulled / environment prepared
    RUNNING = "running"
    TERMINATING = "terminating"
    DONE = "done"
    FAILED = "failed"
    TERMINATED = "terminated"

    @property
    def is_finished(self) -> bool:
        return self in _FINAL_JOB


class RunTerminationReason(StrEnum):
    ALL_JOBS_DONE = "all_jobs_done"
    JOB_FAILED = "job_failed"
    RETRY_LIMIT_EXCEEDED = "retry_limit_exceeded"
    STOPPED_BY_USER = "stopped_by_user"
    ABORTED_BY_USER = "aborted_by_user"
    MAX_DURATION_EXCEEDED = "max_duration_exceeded"
    SERVER_ERROR = "server_error"

    def to_status(self) -> RunStatus:
        """The final run status this reason leads to."""
        return _final_status(RunStatus, self, _RUN_DONE_BY, _RUN_TERMINATED_BY)


class JobTerminationReason(StrEnum):
    DONE_BY_RUNNER = "done_by_runner"
    TERMINATED_BY_USER = "terminated_by_user"
    ABORTED_BY_USER = "aborted_by_user"
    TERMINATED_BY_SERVER = "terminated_by_server"
    MAX_DURATION_EXCEEDED = "max_duration_exceeded"
    FAILED_TO_START_DUE_TO_NO_CAPACITY = "failed_to_start_due_to_no_capacity"
    INTERRUPTED_BY_NO_CAPACITY = "interrupted_by_no_capacity"
    CONTAINER_EXITED_WITH_ERROR = "container_exited_with_error"
    EXECUTOR_ERROR = "executor_error"
    INSTANCE_UNREACHABLE = "instance_unreachable"
    CREATING_CONTAINER_ERROR = "creating_container_error"
    PORTS_BINDING_FAILED = "ports_binding_failed"
    WAITING_INSTANCE_LIMIT_EXCEEDED = "waiting_instance_limit_exceeded"

    def to_status(self) -> JobStatus:
        """The final job status this reason leads to."""
        return _final_status(JobStatus, self, _JOB_DONE_BY, _JOB_TERMINATED_BY)


class FleetStatus(StrEnum):
    SUBMITTED = "submitted"
    ACTIVE = "active"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    FAILED = "failed"

    @property
    def is_finished(self) -> bool:
        return self in _FINAL_FLEET


class InstanceStatus(StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    IDLE = "idle"
    BUSY = "busy"
    TERMINATING = "terminating"
    TERMINATED = "terminated"

    @property
    def is_finished(self) -> bool:
        return self is InstanceStatus.TERMINATED

    @property
    def is_available(self) -> bool:
        """Up and able to take a job now."""
        return self is InstanceStatus.IDLE


# The reasons that end a run or a job done, or terminated; every other reason means failed.
_RR = RunTerminationReason
_RUN_DONE_BY = frozenset({_RR.ALL_JOBS_DONE})
_RUN_TERMINATED_BY = frozenset(
    {_RR.STOPPED_BY_USER, _RR.ABORTED_BY_USER, _RR.MAX_DURATION_EXCEEDED}
)
_JR = JobTerminationReason
_JOB_DONE_BY = frozenset({_JR.DONE_BY_RUNNER})
_JOB_TERMINATED_BY = frozenset(
    {
        _JR.TERMINATED_BY_USER,
        _JR.ABORTED_BY_USER,
        _JR.TERMINATED_BY_SERVER,
        _JR.MAX_DURATION_EXCEEDED,
    }
)

_FinalStatus = TypeVar("_FinalStatus", RunStatus, JobStatus)


def _final_status(
    kind: type[_FinalStatus],
    reason: StrEnum,
    done_by: frozenset[StrEnum],
    terminated_by: frozenset[StrEnum],
) -> _FinalStatus:
    """DONE for a reason in `done_by`, TERMINATED for one in `terminated_by`, else FAILED."""
    if reason in done_by:
        return kind.DONE
    return kind.TERMINATED if reason in terminated_by else kind.FAILED


# One of the four statuses, one of the two termination reasons (the repository's status gate).
Status = RunStatus | JobStatus | FleetStatus | InstanceStatus
TerminationReason = RunTerminationReason | JobTerminationReason

_R = RunStatus
_FINAL_RUN = frozenset({_R.DONE, _R.FAILED, _R.TERMINATED})
RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    _R.PENDING: frozenset({_R.SUBMITTED, _R.TERMINATING, _R.FAILED, _R.TERMINATED}),
    _R.SUBMITTED: frozenset(
        {_R.PROVISIONING, _R.RUNNING, _R.PENDING, _R.TERMINATING, _R.FAILED, _R.TERMINATED}
    ),
    _R.PROVISIONING: frozenset({_R.RUNNING, _R.PENDING, _R.TERMINATING, _R.FAILED, _R.TERMINATED}),
    _R.RUNNING: frozenset({_R.PENDING, _R.TERMINATING, _R.DONE, _R.FAILED, _R.TERMINATED}),
    _R.TERMINATING: frozenset({_R.DONE, _R.FAILED, _R.TERMINATED}),
    _R.DONE: frozenset(),
    _R.FAILED: frozenset(),
    _R.TERMINATED: frozenset(),
}

_J = JobStatus
_FINAL_JOB = frozenset({_J.DONE, _J.FAILED, _J.TERMINATED})
_J_STOP = {_J.TERMINATING, _J.FAILED, _J.TERMINATED}
JOB_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    _J.PENDING: frozenset({_J.SUBMITTED} | _J_STOP),
    _J.SUBMITTED: frozenset({_J.PROVISIONING, _J.PULLING, _J.RUNNING} | _J_STOP),
    _J.PROVISIONING: frozenset({_J.PULLING, _J.RUNNING} | _J_STOP),
    _J.PULLING: frozenset({_J.RUNNING, _J.DONE} | _J_STOP),
    _J.RUNNING: frozenset({_J.DONE} | _J_STOP),
    _J.TERMINATING: frozenset({_J.DONE, _J.FAILED, _J.TERMINATED}),
    _J.DONE: frozenset(),
    _J.FAILED: frozenset(),
    _J.TERMINATED: frozenset(),
}

_F = FleetStatus
_FINAL_FLEET = frozenset({_F.TERMINATED, _F.FAILED})
FLEET_TRANSITIONS: dict[FleetStatus, frozenset[FleetStatus]] = {
    _F.SUBMITTED: frozenset({_F.ACTIVE, _F.TERMINATING, _F.TERMINATED, _F.FAILED}),
    _F.ACTIVE: frozenset({_F.TERMINATING, _F.TERMINATED, _F.FAILED}),
    _F.TERMINATING: frozenset({_F.TERMINATED, _F.FAILED}),
    _F.TERMINATED: frozenset(),
    _F.FAILED: frozenset(),
}

_I = InstanceStatus
INSTANCE_TRANSITIONS: dict[InstanceStatus, frozenset[InstanceStatus]] = {
    _I.PENDING: frozenset({_I.PROVISIONING, _I.IDLE, _I.TERMINATING, _I.TERMINATED}),
    _I.PROVISIONING: frozenset({_I.IDLE, _I.BUSY, _I.TERMINATING, _I.TERMINATED}),
    _I.IDLE: frozenset({_I.BUSY, _I.TERMINATING, _I.TERMINATED}),
    _I.BUSY: frozenset({_I.IDLE, _I.TERMINATING, _I.TERMINATED}),
    _I.TERMINATING: frozenset({_I.TERMINATED}),
    _I.TERMINATED: frozenset(),
}

TRANSITIONS: dict[type[Enum], dict] = {
    RunStatus: RUN_TRANSITIONS,
    JobStatus: JOB_TRANSITIONS,
    FleetStatus: FLEET_TRANSITIONS,
    InstanceStatus: INSTANCE_TRANSITIONS,
}


def check_transition(old: Enum, new: Enum) -> bool:
    """True when `old -> new` changes something, False for a repeated status (a no-op).

    Raises IllegalTransitionError for a transition the tables above do not allow; a final
    status never changes again.
    """
    kind = type(new)
    if type(old) is not kind:
        raise IllegalTransitionError(f"cannot compare {old!r} with {new!r}")
    if old is new:
        return False
    if new not in TRANSITIONS[kind][old]:
        name = kind.__name__.removesuffix("Status").lower()
        raise IllegalTransitionError(f"{name} status {old.value} -> {new.value} is not allowed")
    return True
