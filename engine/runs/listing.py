"""Runs as `dstack ps` lists them: each run with its latest job, read in one query.

    runs = list_runs_for_ps(all_runs=False, limit=None)   # refreshed, newest first

`dstack ps` must answer in well under half a second with thousands of runs in the
database, and importing SQLAlchemy alone takes ~0.35 s on a small machine. So on the
default SQLite database (at the current schema) the rows are read with the standard
library's sqlite3, and SQLAlchemy plus the run lifecycle are imported only when some
active run needs a refresh (a job whose supervisor ended, a pending retry...). Every other
database URL goes through the state layer and the same SQL. The sqlite3 reads are
engine/state/fastread.py's; the repository (SQLAlchemy) is imported only for a refresh.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from ..models.json import JSONObject, JSONValue
from ..paths import dstack_home
from ..runner import jobfiles
from ..runner.supervisor import is_alive
from ..state import fastread
from .errors import job_error_text

# The values of RunStatus / JobStatus that are final (tests check them against statuses.py).
FINISHED_RUN_STATUSES = ("done", "failed", "terminated")
FINISHED_JOB_STATUSES = ("done", "failed", "terminated")
_DATABASE_URL_ENV = "DSTACK_DATABASE_URL"  # as in engine/state/db.py (not imported: it is slow)

_COLUMNS = (
    "r.id, r.project, r.name, r.status, r.termination_reason, r.error, r.backend, r.region, "
    "r.price, r.resources, r.run_spec, r.configuration_path, r.submitted_at, r.finished_at, "
    "j.id, j.status, j.termination_reason, j.exit_status, j.error, j.job_dir, "
    "j.supervisor_pid, j.supervisor_host, j.supervisor_token, j.started_at, j.finished_at, "
    "j.submission_num"
)
# The latest submission of the run's first job (job 0, replica 0 come first).
_LATEST_JOB = (
    "SELECT j2.id FROM jobs j2 WHERE j2.run_id = r.id "
    "ORDER BY j2.submission_num DESC, j2.job_num, j2.replica_num LIMIT 1"
)
_FINISHED_SQL = ", ".join(f"'{s}'" for s in FINISHED_RUN_STATUSES)

SqlParams = dict[str, str | int]  # the named parameters of the query
Rows = Callable[[str, SqlParams], list[Sequence[object]]]  # one query's rows
# The types the schema gives the _COLUMNS of a row: times are text on SQLite, datetimes
# elsewhere; run_spec is JSON text, or already parsed by a driver with a JSON type.
_Row = tuple[
    str, str, str, str, str | None, str | None, str | None, str | None, float | None, str | None,
    str | JSONObject | None, str | None, str | datetime, str | datetime | None,
    str | None, str | None, str | None, int | None, str | None, str | None,
    int | None, str | None, str | None, str | datetime | None, str | datetime | None,
    int | None,
]  # fmt: skip


@dataclass(frozen=True)
class RunSummary:
    """One row of `dstack ps`: the run and its latest job (job fields None when none)."""

    id: str
    project: str
    name: str
    status: str
    termination_reason: str | None
    error: str | None
    backend: str | None
    region: str | None
    price: float | None
    resources: str | None
    run_spec: JSONObject | None
    configuration_path: str | None
    submitted_at: datetime
    finished_at: datetime | None
    job_id: str | None
    job_status: str | None
    job_termination_reason: str | None
    exit_status: int | None
    job_error: str | None
    job_dir: str | None
    supervisor_pid: int | None
    supervisor_host: str | None
    supervisor_token: str | None
    started_at: datetime | None
    job_finished_at: datetime | None
    submission_num: int | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_RUN_STATUSES

    @property
    def gpu(self) -> str | None:
        """ "A100:80GB:2" from the offer recorded in run_spec; None without a GPU."""
        offer = _mapping((self.run_spec or {}).get("offer"))
        gpus = _mapping(offer.get("resources")).get("gpus")
        if not isinstance(gpus, list) or not gpus or not isinstance(gpus[0], dict):
            return None
        name = gpus[0].get("name") or "gpu"
        memory = gpus[0].get("memory_gb")
        return f"{name}:{memory:g}GB:{len(gpus)}" if memory else f"{name}:{len(gpus)}"

    @property
    def error_text(self) -> str:
        """Why the run did not end well ("exited (3)", "stopped by user"...); "" if it did."""
        return error_text(self)


# ---------------------------------------------------------------- reading


def list_runs_for_ps(
    *,
    all_runs: bool = False,
    limit: int | None = None,
    project: str | None = None,
    url: str | None = None,
    refresh: bool = True,
) -> list[RunSummary]:
    """Runs newest first: by default the active ones, or the last finished one when none is
    active; `all_runs` every run; `limit` the last N runs (implies all). Active runs are
    refreshed first (refresh_runs) when any of them may have changed under us."""
    source = open_source(url)
    if source is None:
        return []  # no database yet: nothing was ever run
    try:
        active = source.query(active_only=True, project=project)
        if refresh and needs_refresh(active):
            source.refresh()
            active = source.query(active_only=True, project=project)
        if limit is not None:
            return source.query(limit=limit, project=project)
        if all_runs:
            return source.query(project=project)
        return active or source.query(limit=1, project=project)
    finally:
        source.close()


def needs_refresh(active: Sequence[RunSummary]) -> bool:
    """False only when every active run is running with a live local supervisor and no
    recorded exit: then refresh_runs has nothing to do, and is not even imported."""
    host = socket.gethostname()
    for run in active:
        if run.status != "running" or run.job_status != "running":
            return True
        if run.supervisor_pid is None or run.supervisor_host != host or not run.job_dir:
            return True
        if not is_alive(run.supervisor_pid, run.supervisor_token):
            return True
        if (Path(run.job_dir) / jobfiles.EXIT_STATUS_FILE).exists():
            return True
    return False


def error_text(run: RunSummary) -> str:
    """The ERROR column: what the lifecycle recorded (run_error_text) when the run ended,
    else what its latest job's end says (a run waiting to be retried, an older row), with
    the same words (engine/runs/errors.py)."""
    if run.error is not None or run.status not in ("failed", "terminated", "pending"):
        return run.error or ""
    return job_error_text(
        run.job_termination_reason,
        exit_status=run.exit_status,
        error=run.job_error,
        log_path=None,
        job_dir=run.job_dir,
    )


class RunSource:
    """Where the rows come from: the SQLite file directly, or the state layer."""

    def __init__(
        self,
        rows: Rows,
        refresh: Callable[[], None],
        close: Callable[[], None] = lambda: None,
    ) -> None:
        self._rows = rows
        self.refresh = refresh
        self.close = close

    def query(
        self, *, active_only: bool = False, limit: int | None = None, project: str | None = None
    ) -> list[RunSummary]:
        sql = (
            f"SELECT {_COLUMNS} FROM runs r LEFT JOIN jobs j ON j.id = ({_LATEST_JOB}) "
            "WHERE r.deleted = :deleted"
        )
        params: SqlParams = {"deleted": False}
        if active_only:
            sql += f" AND r.status NOT IN ({_FINISHED_SQL})"
        if project is not None:
            sql += " AND r.project = :project"
            params["project"] = project
        sql += " ORDER BY r.submitted_at DESC, r.id"
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = max(0, int(limit))
        return [_summary(row) for row in self._rows(sql, params)]


def open_source(url: str | None = None) -> RunSource | None:
    """The fastest way to read runs for `url` (default: what open_state would use); None
    when the default SQLite file does not exist yet."""
    url = url or os.environ.get(_DATABASE_URL_ENV) or f"sqlite:///{dstack_home() / 'state.db'}"
    path = fastread.sqlite_file(url)
    if path is not None:
        if not path.exists():
            return None
        source = _sqlite_source(path, url)
        if source is not None:
            return source
    return _state_source(url)


def refresh_state(url: str | None) -> None:
    """refresh_runs on the database at `url` (imports SQLAlchemy and the lifecycle)."""
    from ..state import open_state
    from .lifecycle import refresh_runs

    refresh_runs(open_state(url))


# ---------------------------------------------------------------- helpers


def _sqlite_source(path: Path, url: str) -> RunSource | None:
    conn = fastread.connect_at_head(path)
    if conn is None:
        return None  # not migrated yet: the state layer migrates it

    def rows(sql: str, params: SqlParams) -> list[Sequence[object]]:
        return conn.execute(sql, params).fetchall()

    return RunSource(rows, refresh=lambda: refresh_state(url), close=conn.close)


def _state_source(url: str) -> RunSource:
    from sqlalchemy import text

    from ..state import open_state

    state = open_state(url)

    def rows(sql: str, params: SqlParams) -> list[Sequence[object]]:
        with state.read() as session:
            return list(session.execute(text(sql), params).all())

    return RunSource(rows, refresh=lambda: refresh_state(url))


def _summary(row: Sequence[object]) -> RunSummary:
    """_COLUMNS are selected in RunSummary's field order; times and JSON are converted."""
    c = cast(_Row, row)  # a tuple (sqlite3) or a Row (SQLAlchemy) of the schema's types
    submitted_at = _utc(c[12]) or datetime.fromtimestamp(0, UTC)
    return RunSummary(
        *c[:10], _json(c[10]), c[11], submitted_at, _utc(c[13]), *c[14:23],
        _utc(c[23]), _utc(c[24]), c[25],
    )  # fmt: skip


def _utc(value: str | datetime | None) -> datetime | None:
    """SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" in UTC without a zone; others a datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _json(value: str | JSONObject | None) -> JSONObject | None:
    if value is None or isinstance(value, dict):
        return value
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _mapping(value: JSONValue) -> JSONObject:
    # a JSON object of run_spec, or {} where it is absent (or not an object)
    return value if isinstance(value, dict) else {}
