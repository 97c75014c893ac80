"""Runs as use cases: submit a plan's run, find, stop, delete, and what an attached CLI reads.

Imports the state layer (SQLAlchemy): `dstack ps` lists runs through run_list.py instead.
What a crash leaves behind is said by engine/runs/submit.py and engine/runs/control.py.
"""

from __future__ import annotations

from datetime import timedelta

from ..config import AnyConfiguration, PortMapping, ServiceConfiguration, TaskConfiguration
from ..remote.ports import PortForward, RunPorts, check_free, parse_port_flags, planned_forwards
from ..runner.jobfiles import offset_since
from ..runs import control
from ..runs.lifecycle import refresh_runs, retry_delay
from ..runs.logs import parse_since
from ..runs.submit import submit_run
from ..state import JobRecord, RunRecord, get_job, get_run, jobs_of_run, open_state

__all__ = [
    "AttachedRun",
    "PortForward",
    "check_free",
    "delete",
    "find",
    "forwards_of_run",
    "log_offset",
    "run_forwards",
    "stop",
    "submit_run",
]


def find(name: str) -> RunRecord:
    """The run called `name` (finished or not); FleetstackError when there is none."""
    return control.find_run(open_state(), name)


def stop(name: str, *, abort: bool = False) -> RunRecord:
    """Stop (or abort) the run; returns it as it is once its jobs ended or the wait ran out."""
    return control.stop_run(open_state(), name, abort=abort)


def delete(name: str) -> None:
    """Delete a finished run with its files; FleetstackError for an active one."""
    control.delete_run(open_state(), name)


def run_forwards(configuration: AnyConfiguration, flags: list[str]) -> list[PortForward]:
    """Which local port serves which port of the run's job: its `ports` (a service's
    `port`), remapped by -p/--port LOCAL:REMOTE flags."""
    if isinstance(configuration, ServiceConfiguration):
        ports = [configuration.port]
    elif isinstance(configuration, TaskConfiguration):
        ports = list(configuration.ports)
    else:
        ports = []
    return planned_forwards(ports, parse_port_flags(flags))


def forwards_of_run(run: RunRecord, flags: list[str]) -> list[PortForward]:
    """run_forwards for a submitted run (its stored configuration)."""
    stored = run.configuration or {}
    raw = stored.get("ports") if stored.get("type") == "task" else None
    if stored.get("type") == "service":
        raw = [stored.get("port")]
    ports = [PortMapping.model_validate(p) for p in raw] if isinstance(raw, list) else []
    return planned_forwards(ports, parse_port_flags(flags))


def log_offset(run: RunRecord, since: str | None) -> int:
    """The byte of the run's latest job log from which output is newer than --since."""
    start = parse_since(since)
    if start is None:
        return 0
    state = open_state()
    jobs = jobs_of_run(state, run.id, latest_only=True)
    return offset_since(control.job_dir_of(run, jobs[0]), start) if jobs else 0


class AttachedRun:
    """One run as an attached `dstack apply` follows it: refreshed, its latest job, a stop."""

    def __init__(self, run: RunRecord) -> None:
        self.state = open_state()
        self.run = run

    def refresh(self) -> RunRecord:
        """Bring every active run up to date; the run as it is now."""
        refresh_runs(self.state)
        self.run = get_run(self.state, self.run.id) or self.run
        return self.run

    def latest_job(self) -> JobRecord | None:
        jobs = jobs_of_run(self.state, self.run.id, latest_only=True)
        return jobs[0] if jobs else None

    def latest_jobs(self) -> list[JobRecord]:
        """The latest submission of each of the run's jobs (one per node)."""
        return jobs_of_run(self.state, self.run.id, latest_only=True)

    def job(self, job_id: str) -> JobRecord | None:
        return get_job(self.state, job_id)

    def stop(self, *, abort: bool) -> RunRecord:
        return control.stop_run(self.state, self.run.name, abort=abort)

    def ports(self, forwards: list[PortForward], job_num: int = 0) -> RunPorts:
        """The run's ports forwarded to 127.0.0.1 while the returned RunPorts is open."""
        return RunPorts(self.state, self.run, forwards, job_num=job_num)

    @staticmethod
    def retry_delay(attempt: int) -> timedelta:
        return retry_delay(attempt)
