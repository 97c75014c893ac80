"""The state read with the standard library's sqlite3, for the two paths that must not pay for
SQLAlchemy (~0.35 s to import): `dstack ps` and the job supervisor's start.

Only the default kind of database qualifies: a `sqlite:///PATH` URL without options, whose
file is migrated to the current schema. For anything else (PostgreSQL, a SQLite URL with
options, a file not migrated yet) these functions return None and the caller goes through the
repository, which migrates and reads with SQLAlchemy. Nothing here writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from .migrations import HEAD_REVISION, VERSION_TABLE

SQLITE_PREFIX = "sqlite:///"


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL; None for any other URL (or `:memory:`)."""
    if not url.startswith(SQLITE_PREFIX) or "?" in url:
        return None
    path = url.removeprefix(SQLITE_PREFIX)
    return None if path in ("", ":memory:") else Path(path).expanduser()


def connect_at_head(path: Path) -> sqlite3.Connection | None:
    """A connection to the SQLite file at `path`, or None when its schema is not the current
    one (not migrated yet: the repository migrates it)."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    try:
        revision = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    except sqlite3.Error:
        revision = None
    if revision is None or revision[0] != HEAD_REVISION:
        conn.close()
        return None
    return conn


def job_status(url: str | None, job_id: str) -> str | None:
    """The job's status, read-only; None when the database is not a readable SQLite file or
    has no such job."""
    path = sqlite_file(url) if url else None
    if path is None:
        return None
    row = read_one(path, "SELECT status FROM jobs WHERE id = ?", (job_id,))
    return str(row[0]) if row else None


def read_one(
    path: Path, query: str, params: tuple[str, ...], *, leave_no_file: bool = False
) -> tuple[object, ...] | None:
    """The first row of `query` on the SQLite file at `path`, opened read-only; None when
    the file cannot be read or has no such row (or no such table).

    `leave_no_file` (a dry run): a WAL database read even read-only gets `-wal`/`-shm`
    files; with no `-wal` file the last writer checkpointed everything into the main file,
    which is then read as immutable (no lock, no file created)."""
    mode = "ro"
    if leave_no_file and not path.with_name(path.name + "-wal").exists():
        mode = "ro&immutable=1"
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True, timeout=10)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute(query, params).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return tuple(row) if row else None
