"""Finding, starting, waking and stopping the server of one state database (stdlib only:
`dstack ps` calls it on its fast path).

One server per database: it holds an exclusive flock on $DSTACK_HOME/server/KEY.lock for
its whole life (KEY: a digest of the database URL), so a crashed server holds nothing
and a stale pid file misleads nobody. Its pid and process token (boot id + start time, so
a reused pid is not taken for it) are in KEY.pid, its output in KEY.log.

The background server is started by re-invoking the entry this CLI process was started
from (sys.executable + sys.argv[0]), so a test wrapper that registers a stack engine
(tests/engines/dstack_recording.py) starts a server that has that engine too.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..paths import dstack_home
from ..runner.jobcontrol import is_alive, process_token
from ..state import fastread

DATABASE_URL_ENV = "DSTACK_DATABASE_URL"
BACKGROUND_FLAG = "--background"


@dataclass(frozen=True)
class ServerFiles:
    lock: Path
    pid: Path
    log: Path


def default_url() -> str:
    """The database URL open_state would use without arguments."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{dstack_home() / 'state.db'}"


def server_files(url: str) -> ServerFiles:
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    folder = dstack_home() / "server"
    return ServerFiles(folder / f"{key}.lock", folder / f"{key}.pid", folder / f"{key}.log")


def running_server(url: str) -> int | None:
    """The pid of the live server of `url`, None when none runs."""
    files = server_files(url)
    if not files.lock.exists():
        return None
    with open(files.lock, "a+") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _recorded_pid(files) or -1  # held: a server runs (pid file being written)
        fcntl.flock(probe, fcntl.LOCK_UN)
    return None


def acquire(url: str) -> int | None:
    """For the server itself: the lock's fd (keep it open), None when another server holds it."""
    files = server_files(url)
    files.lock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(files.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    _write_pid(files, os.getpid())
    return fd


def release(url: str, fd: int) -> None:
    files = server_files(url)
    if _recorded_pid(files) == os.getpid():
        files.pid.unlink(missing_ok=True)
    os.close(fd)


def ensure_server(url: str | None = None, *, say: Callable[[str], None] | None = None) -> int:
    """Wake the server of the database, or start one in the background (saying so once,
    with where its log is); returns its pid (-1: starting, pid not known yet)."""
    url = url or default_url()
    pid = running_server(url)
    if pid is not None:
        wake(url)
        return pid
    files = server_files(url)
    starting = _recorded_pid(files)
    if starting is not None:
        return starting  # started a moment ago, not serving yet: it runs a pass first thing
    files.log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(files.log, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, *entry_command(), "server", BACKGROUND_FLAG],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env={**os.environ, DATABASE_URL_ENV: url},
            start_new_session=True,
            close_fds=True,
        )
    _write_pid(files, proc.pid)  # until it holds the lock, this names it as starting
    if say is not None:
        say(f"Started the fleetstack server in the background (log: {files.log}); "
            "`dstack server --stop` stops it.")  # fmt: skip
    return proc.pid


def may_have_work(url: str | None = None) -> bool:
    """False only when the database is a SQLite file with no unfinished run and no live
    fleet (or no file): then a read-only command has no reason to start a server."""
    url = url or default_url()
    path = fastread.sqlite_file(url)
    if path is None:
        return True
    if not path.exists():
        return False
    conn = fastread.connect_at_head(path)
    if conn is None:
        return True
    try:
        row = conn.execute(
            "SELECT 1 FROM runs WHERE deleted = 0 AND status NOT IN "
            "('done', 'failed', 'terminated') UNION ALL SELECT 1 FROM fleets WHERE deleted = 0 "
            "AND status IN ('active', 'terminating') LIMIT 1"
        ).fetchone()
    except sqlite3.Error:
        return True
    finally:
        conn.close()
    return row is not None


def wake(url: str) -> bool:
    """Ask the server to run a pass now (SIGUSR1); False when none serves yet (a server
    takes the lock only once its handlers are installed: SIGUSR1 never kills it)."""
    pid = running_server(url)
    if pid is None or pid < 0:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGUSR1)
        return True
    return False


def stop_server(url: str | None = None, *, timeout: float = 15.0) -> int | None:
    """Stop the server of the database (SIGTERM, SIGKILL after `timeout`); its pid, or None
    when none ran."""
    url = url or default_url()
    files = server_files(url)
    # a server started a moment ago does not hold the lock yet: its pid file names it
    pid = _recorded_pid(files)
    if pid is None:
        return None

    def up() -> bool:
        return running_server(url) is not None or _recorded_pid(files) == pid

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while up() and time.monotonic() < deadline:
        time.sleep(0.05)
    if up():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pid


def entry_command() -> list[str]:
    """How this CLI process was started, to start the server the same way."""
    script = sys.argv[0] if sys.argv else ""
    if not script or script in ("-c", "-m") or script.endswith(os.path.join("cli", "main.py")):
        return ["-m", "fleetstack.cli.main"]
    return [str(Path(script).resolve())]


def _write_pid(files: ServerFiles, pid: int) -> None:
    tmp = files.pid.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"pid": pid, "token": process_token(pid)}))
    tmp.replace(files.pid)


def _recorded_pid(files: ServerFiles) -> int | None:
    """The pid in the pid file when that very process still runs (not a reused pid)."""
    try:
        data = json.loads(files.pid.read_text())
        pid, token = int(data["pid"]), data.get("token")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if is_alive(pid, token) else None
