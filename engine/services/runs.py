"""Runs as use cases: submit a plan's run, find, stop, delete, and what an attached CLI reads.

Imports the state layer (SQLAlchemy): `dstack ps` lists runs through run_list.py instead.
What a crash leaves behind is said by engine/runs/submit.py and engine/runs/control.py.
"""

from __future__ import annotations

from datetime import timedelta

from ..runs import control
from ..runs.lifecycle import refresh_runs, retry_delay
from ..runs.submit import submit_run
from ..state import JobRecord, RunRecord, get_job, get_run, jobs_of_run, open_state

__all__ = ["AttachedRun", "delete", "find", "stop", "submit_run"]


def find(name: str) -> RunRecord:
    """The run called `name` (finished or not); FleetstackError when there is none."""
    return control.find_run(open_state(), name)


def stop(name: str, *, abort: bool = False) -> RunRecord:
    """Stop (or abort) the run; returns it as it is once its jobs ended or the wait ran out."""
    return control.stop_run(open_state(), name, abort=abort)


def delete(name: str) -> None:
    """Delete a finished run with its files; FleetstackError for an active one."""
    control.delete_run(open_state(), name)


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

    def job(self, job_id: str) -> JobRecord | None:
        return get_job(self.state, job_id)

    def stop(self, *, abort: bool) -> RunRecord:
        return control.stop_run(self.state, self.run.name, abort=abort)

    @staticmethod
    def retry_delay(attempt: int) -> timedelta:
        return retry_delay(attempt)
