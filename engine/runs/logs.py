"""The output of a run as `dstack logs` shows it: raw bytes of its latest job's log.

    for chunk in run_logs(state, run, since=..., follow=True):
        sys.stdout.buffer.write(chunk)

Bytes, never text: binary output, lines without a newline and very long lines arrive as
the job wrote them. Following ends when the run has finished; when the run is retried,
the log of the next submission follows that of the previous one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..errors import FleetstackError
from ..models.durations import parse_duration
from ..runner import jobfiles, supervisor
from ..state import JobRecord, RunRecord, State, get_job, get_run, jobs_of_run
from .control import job_dir_of
from .lifecycle import refresh_runs

REFRESH_SECONDS = 1.0  # how often a follower asks the lifecycle for news while it waits


def parse_since(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """--since: a duration back from now ("10m", "2h", "90") or a time ("2026-11-23T09:30:00Z";
    without a zone it is local time)."""
    if value is None or not value.strip():
        return None
    now = now or datetime.now(UTC)
    try:
        seconds = parse_duration(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        return now - timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FleetstackError(
            f"--since {value}: expected a duration such as 10m, 2h, 1d or a time such as "
            "2026-11-23T09:30:00Z"
        ) from None
    return when.astimezone(UTC) if when.tzinfo is None else when


def latest_job(state: State, run: RunRecord) -> JobRecord | None:
    """The last submission of the run's first job (job 0, replica 0)."""
    jobs = jobs_of_run(state, run.id, latest_only=True)
    return jobs[0] if jobs else None


def run_logs(
    state: State,
    run: RunRecord,
    *,
    since: datetime | None = None,
    follow: bool = False,
    diagnose: bool = False,
) -> Iterator[bytes]:
    """The bytes of the run's log (or, with `diagnose`, of its supervisor's own log).

    With `follow`, keeps yielding as the job writes, and ends once the run has finished.
    """
    if diagnose:
        job = latest_job(state, run)
        if job is not None:
            path = job_dir_of(run, job) / jobfiles.SUPERVISOR_LOG_FILE
            if path.exists():
                yield path.read_bytes()
        return
    if not follow:
        job = latest_job(state, run)
        if job is not None:
            data = jobfiles.read_log(job_dir_of(run, job), since=since)
            if data:
                yield data
        return
    yield from _follow(state, run, since)


def _follow(state: State, run: RunRecord, since: datetime | None) -> Iterator[bytes]:
    done_jobs: set[str] = set()
    while True:
        job = latest_job(state, run)
        if job is not None and job.id not in done_jobs:
            job_dir = job_dir_of(run, job)
            yield from jobfiles.follow_log(
                job_dir, since=since, is_finished=_job_ended(state, job.id, job_dir)
            )
            done_jobs.add(job.id)
        current = get_run(state, run.id)
        if current is None or current.status.is_finished:
            newest = latest_job(state, run) if current is not None else None
            if newest is None or newest.id in done_jobs:
                return
            continue  # a last submission appeared before the run finished: show it too
        _refresh(state)
        time.sleep(REFRESH_SECONDS)


def _job_ended(state: State, job_id: str, job_dir: Path) -> Callable[[], bool]:
    """True once the job has an exit record, is final in the DB, or its supervisor is gone."""
    checked = [0.0]

    def ended() -> bool:
        if (job_dir / jobfiles.EXIT_STATUS_FILE).exists():
            return True
        handle = supervisor.read_pid_file(job_dir)
        if handle is not None and not supervisor.is_alive(handle.pid, handle.token):
            return True
        now = time.monotonic()
        if now - checked[0] < REFRESH_SECONDS:
            return False
        checked[0] = now
        job = get_job(state, job_id)
        return job is None or job.status.is_finished

    return ended


def _refresh(state: State) -> None:
    refresh_runs(state)
