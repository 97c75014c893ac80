"""Opening the state database: SQLite at $DSTACK_HOME/state.db by default, or any URL.

Several CLI processes use the database at once (`dstack apply` attached, `dstack ps`, job
supervisors), so:

- SQLite runs in WAL mode (readers never wait for a writer) with a busy timeout;
- every write transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front,
  so two writers queue on the busy timeout instead of failing with "database is locked";
- transactions are short: read or write rows, then leave. **Never make a network call
  (cloud API, Pulumi, SSH) inside `state.write()` or `state.read()`**: do it between
  two transactions and record its result in the second.

The schema is migrated with alembic on first use; when the version table already says
head, alembic is not even imported (that keeps `dstack ps` fast).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from ..paths import dstack_home
from .migrations import HEAD_REVISION, VERSION_TABLE, upgrade

DATABASE_URL_ENV = "DSTACK_DATABASE_URL"
BUSY_TIMEOUT_MS = 30_000
_PG_MIGRATION_LOCK = 0x66_6C_65_65  # any constant: serializes concurrent first migrations

_cache: dict[tuple[int, str], State] = {}
_cache_lock = threading.Lock()


def database_url(url: str | None = None) -> str:
    """The URL in force: `url`, else $DSTACK_DATABASE_URL, else SQLite in $DSTACK_HOME."""
    if url:
        return url
    env = os.environ.get(DATABASE_URL_ENV)
    if env:
        return env
    return f"sqlite:///{dstack_home() / 'state.db'}"


def open_state(url: str | None = None, *, database_url_setting: str | None = None) -> State:
    """The state store for `url` (see database_url), created and migrated on first use.

    `database_url_setting` is the `database_url` key of the engine's config, used when
    `url` is not given and takes precedence over nothing but the default. Cached per
    process and URL: calling it again is free.
    """
    resolved = url or os.environ.get(DATABASE_URL_ENV) or database_url_setting
    resolved = database_url(resolved)
    key = (os.getpid(), resolved)
    with _cache_lock:
        state = _cache.get(key)
        if state is None:
            state = State(resolved)
            state.migrate()
            _cache[key] = state
        return state


def close_all() -> None:
    """Dispose every cached State (tests, and before a process forks)."""
    with _cache_lock:
        for state in _cache.values():
            state.close()
        _cache.clear()


class State:
    """A handle on the state database. Use `read()` / `write()` sessions, kept short."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _ensure_sqlite_dir(url)
        self.engine: Engine = create_engine(url, future=True)
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        self._writer = self.engine.execution_options(fleetstack_write=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (a deferred transaction; WAL readers never wait)."""
        with Session(self.engine, expire_on_commit=False, autoflush=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed on exit, rolled back on an exception.

        On SQLite it starts with BEGIN IMMEDIATE (waits up to the busy timeout for the
        write lock). Keep it short and free of network calls.
        """
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    def schema_revision(self) -> str | None:
        """The alembic revision recorded in the database, None for an empty database."""
        with self.engine.connect() as conn:
            return _read_revision(conn)

    def migrate(self) -> None:
        """Upgrade to head unless already there; safe when processes race on a new file."""
        with self.engine.connect() as conn:
            if _read_revision(conn) == HEAD_REVISION:
                return
        with self._writer.begin() as conn:
            if not self.is_sqlite and conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            has_table = conn.dialect.has_table(conn, VERSION_TABLE)
            if not has_table or _read_revision(conn) != HEAD_REVISION:
                upgrade(conn)


def _read_revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    except (OperationalError, ProgrammingError):
        conn.rollback()  # the table does not exist yet
        return None


def _ensure_sqlite_dir(url: str) -> None:
    """The database's folder exists; the database and its -wal/-shm (SQLite gives them the
    database's mode) are 0600 even when an older fleetstack or another umask made them."""
    path = url.split("///", 1)[-1].split("?", 1)[0]
    if path and path != ":memory:":
        db = Path(path).expanduser()
        db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in (db.name, f"{db.name}-wal", f"{db.name}-shm", f"{db.name}-journal"):
            with contextlib.suppress(FileNotFoundError):
                file = db.with_name(name)
                if file.stat().st_mode & 0o077:
                    os.chmod(file, 0o600)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module: we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("fleetstack_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
