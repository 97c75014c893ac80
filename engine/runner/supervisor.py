"""The job supervisor: a small detached process that runs one job script and records its end.

    pid = start_supervisor(job_dir, script=..., working_dir=..., env=..., job_id=...)
    stop_job(job_dir)               # SIGTERM to the job's process group, grace, then SIGKILL
    stop_job(job_dir, abort=True)   # SIGKILL at once
    reconcile_jobs(state)           # `dstack ps`: jobs whose supervisor vanished -> failed

The process itself is `python -m fleetstack.engine.runner.supervisor --job-dir DIR`, reading what
to run from DIR/supervisor.json (written by start_supervisor, mode 0600 since env may hold
secrets). It runs `bash SCRIPT` in its own process group, appends the raw bytes of its
stdout+stderr to DIR/output.log (see jobfiles), writes DIR/exit_status.json atomically, then
the job's final status in the DB. Signals to the supervisor: SIGTERM = stop, SIGUSR1 =
abort; the reason may be named beforehand in DIR/stop_request (stop_job does both).

Exit mapping: code 0 -> done (done_by_runner); code N -> failed (container_exited_with_error,
exit_status N); killed by signal S -> failed (exit_status 128+S); stop -> terminated
(terminated_by_user, or the reason in stop_request); abort -> terminated (aborted_by_user);
--max-duration reached -> terminated (max_duration_exceeded); script could not start ->
failed (executor_error).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import jobfiles
from .jobfiles import ExitStatus

DEFAULT_GRACE_SECONDS = 10.0
STOP_REQUEST_FILE = "stop_request"
DRAIN_SECONDS = 5.0  # after the job exits, how long escaped children may hold the pipe
_BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


@dataclass(frozen=True)
class SupervisorHandle:
    pid: int
    token: str | None  # boot id + process start time: tells a live supervisor from a reused pid
    host: str


def start_supervisor(
    job_dir: Path | str,
    *,
    script: Path | str,
    working_dir: Path | str | None = None,
    env: dict[str, str] | None = None,
    job_id: str | None = None,
    database_url: str | None = None,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    max_duration: float | None = None,
    inherit_env: bool = True,
) -> SupervisorHandle:
    """Start a detached supervisor for `script` and return once its pid file exists.

    The job sees this process's environment (unless `inherit_env` is False) plus `env`.
    With `job_id`, the supervisor moves that job to running, then to its final status in
    the database at `database_url` (default: the one open_state() would use).
    """
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "script": str(Path(script).resolve()),
        "working_dir": str(working_dir) if working_dir is not None else str(job_dir),
        "env": dict(env or {}),
        "inherit_env": inherit_env,
        "job_id": job_id,
        "database_url": database_url,
        "grace_seconds": grace_seconds,
        "max_duration": max_duration,
    }
    jobfiles.write_json_atomic(job_dir / jobfiles.SPEC_FILE, spec, mode=0o600)
    for name in (jobfiles.EXIT_STATUS_FILE, STOP_REQUEST_FILE):
        (job_dir / name).unlink(missing_ok=True)
    with open(job_dir / jobfiles.SUPERVISOR_LOG_FILE, "ab") as diag:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fleetstack.engine.runner.supervisor", "--job-dir", str(job_dir)]
            + ["--detach"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=diag,
            start_new_session=True,
            close_fds=True,
        )
        out, _ = proc.communicate()
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(
            f"the job supervisor did not start (exit {proc.returncode}); "
            f"see {job_dir / jobfiles.SUPERVISOR_LOG_FILE}"
        )
    pid = int(out.split()[0])
    return SupervisorHandle(pid=pid, token=process_token(pid), host=socket.gethostname())


def stop_job(job_dir: Path | str, *, abort: bool = False, reason: str | None = None) -> bool:
    """Ask the job's supervisor to stop (grace then kill) or abort (kill at once).

    `reason` is a JobTerminationReason value recorded instead of terminated_by_user /
    aborted_by_user. Returns False when no live supervisor was found (already ended).
    """
    if reason is not None:
        from ..models.statuses import JobTerminationReason

        reason = JobTerminationReason(reason).value  # a typo must fail here, not in the job
    job_dir = Path(job_dir)
    handle = read_pid_file(job_dir)
    if handle is None or not is_alive(handle.pid, handle.token):
        return False
    request = {"abort": abort, "reason": reason}
    jobfiles.write_json_atomic(job_dir / STOP_REQUEST_FILE, request)
    try:
        os.kill(handle.pid, signal.SIGUSR1 if abort else signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def wait_for_exit(job_dir: Path | str, timeout: float | None = None) -> ExitStatus | None:
    """Poll until exit_status.json exists; None when `timeout` passes first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        status = jobfiles.read_exit_status(job_dir)
        if status is not None:
            return status
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def read_pid_file(job_dir: Path | str) -> SupervisorHandle | None:
    try:
        data = json.loads((Path(job_dir) / jobfiles.PID_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return SupervisorHandle(pid=int(data["pid"]), token=data.get("token"), host=data.get("host"))


def process_token(pid: int) -> str | None:
    """ "BOOT_ID:START_TICKS" of a live (non-zombie) process, None when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    if fields[0] in ("Z", "X"):
        return None
    return f"{_boot_id()}:{fields[19]}"


def is_alive(pid: int, token: str | None) -> bool:
    """True when `pid` runs and is the same process as when `token` was taken."""
    current = process_token(pid)
    if current is None:
        return False
    return token is None or current == token


def reconcile_jobs(state: Any) -> list[Any]:
    """Settle jobs of this host whose supervisor has ended; returns the jobs changed.

    With an exit_status.json, its recorded status is applied (the supervisor died between
    the file and the DB); without one, the job failed: executor_error, "supervisor vanished".
    Jobs supervised on another host are left alone.
    """
    from ..state import JobStatus, JobTerminationReason, list_jobs, set_job_status

    host = socket.gethostname()
    live = [s for s in JobStatus if not s.is_finished]
    changed = []
    for job in list_jobs(state, statuses=live):
        if job.supervisor_pid is None or job.supervisor_host != host:
            continue
        recorded = jobfiles.read_exit_status(job.job_dir) if job.job_dir else None
        if recorded is None and is_alive(job.supervisor_pid, job.supervisor_token):
            continue
        if recorded is None and job.job_dir:  # it may have written the file just now
            recorded = jobfiles.read_exit_status(job.job_dir)
        if recorded is not None:
            changed.append(_record_final(state, job.id, recorded))
            continue
        changed.append(
            set_job_status(
                state,
                job.id,
                JobStatus.FAILED,
                termination_reason=JobTerminationReason.EXECUTOR_ERROR,
                error="supervisor vanished",
            )
        )
    return changed


# ---------------------------------------------------------------- the supervisor process


class _Requests:
    """Flags set by signal handlers, read by the main loop."""

    stop = False
    abort = False


def _on_stop(_signum: int, _frame: Any) -> None:
    _Requests.stop = True


def _on_abort(_signum: int, _frame: Any) -> None:
    _Requests.abort = True


class Supervisor:
    def __init__(self, job_dir: Path, spec: dict[str, Any]) -> None:
        self.job_dir = job_dir
        self.script = spec["script"]
        self.working_dir = spec.get("working_dir") or str(job_dir)
        self.env = dict(os.environ) if spec.get("inherit_env", True) else {}
        self.env.update(spec.get("env") or {})
        self.job_id = spec.get("job_id")
        self.database_url = spec.get("database_url")
        self.grace = float(spec.get("grace_seconds") or DEFAULT_GRACE_SECONDS)
        max_duration = spec.get("max_duration")
        self.max_duration = float(max_duration) if max_duration else None
        self.state: Any = None
        self.deadline_hit = False
        self._start_thread: threading.Thread | None = None

    def run(self, wakeup_fd: int) -> int:
        """Run the job to its end; returns the supervisor's own exit code (0)."""
        # On SQLite a plain read says whether the job may start (ms); the bookkeeping through
        # SQLAlchemy (~0.4 s to import) then runs beside the job instead of before it.
        quick = _quick_job_status(self.database_url, self.job_id) if self.job_id else None
        if quick in _FINISHED_JOB_STATUSES:
            _log(f"job {self.job_id} is already {quick}: not running it")
            return 0
        if quick == "terminating":
            _Requests.stop = True
        elif quick is None and not self._db_start():
            return 0
        if _Requests.stop or _Requests.abort:
            if quick is not None:
                self._db_start()
            return self._finish(None, None)  # stopped before it started
        writer = jobfiles.LogWriter(self.job_dir)
        try:
            try:
                proc = subprocess.Popen(
                    ["bash", self.script],
                    cwd=self.working_dir,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stop reaches every child
                )
            except OSError as e:
                if quick is not None:
                    self._db_start()
                return self._finish(None, None, error=f"cannot start the job script: {e}")
            if quick is not None:
                self._start_thread = threading.Thread(target=self._db_start_beside, daemon=True)
                self._start_thread.start()
            returncode = self._pump(proc, writer, wakeup_fd)
        finally:
            writer.close()
        if returncode < 0:
            return self._finish(None, -returncode)
        return self._finish(returncode, None)

    def _pump(self, proc: subprocess.Popen, writer: jobfiles.LogWriter, wakeup_fd: int) -> int:
        assert proc.stdout is not None
        out = proc.stdout.fileno()
        started = time.monotonic()
        deadline = started + self.max_duration if self.max_duration else None
        term_sent = kill_sent = False
        kill_at: float | None = None
        eof = False
        while True:
            watch = [wakeup_fd] if eof else [out, wakeup_fd]
            ready, _, _ = select.select(watch, [], [], 0.25)
            if wakeup_fd in ready:
                _drain(wakeup_fd)
            if out in ready:
                chunk = os.read(out, jobfiles.READ_CHUNK)
                if chunk:
                    writer.append(chunk)
                else:
                    eof = True
            now = time.monotonic()
            if _Requests.abort and not kill_sent:
                _kill_session(proc.pid, signal.SIGKILL)
                kill_sent = True
            if not term_sent and (_Requests.stop or (deadline is not None and now >= deadline)):
                self.deadline_hit = not _Requests.stop
                _killpg(proc.pid, signal.SIGTERM)
                term_sent, kill_at = True, now + self.grace
            if kill_at is not None and now >= kill_at and not kill_sent:
                _kill_session(proc.pid, signal.SIGKILL)
                kill_sent = True
            if proc.poll() is not None:
                break
        # The script is gone: nothing of its process group may outlive it.
        _kill_session(proc.pid, signal.SIGKILL)
        end = time.monotonic() + DRAIN_SECONDS
        while not eof and time.monotonic() < end:
            ready, _, _ = select.select([out], [], [], 0.1)
            if ready:
                chunk = os.read(out, jobfiles.READ_CHUNK)
                if chunk:
                    writer.append(chunk)
                else:
                    eof = True
        proc.stdout.close()
        return proc.returncode

    def _db_start_beside(self) -> None:
        """_db_start while the job already runs: a job found finished meanwhile is killed."""
        if not self._db_start():
            _Requests.abort = True

    def _finish(self, code: int | None, sig: int | None, *, error: str | None = None) -> int:
        if self._start_thread is not None:
            self._start_thread.join()  # running is recorded before the final status
        status, reason = self._outcome(code, sig, error)
        exit_status = code if code is not None else (128 + sig if sig is not None else None)
        if error is None and status == "failed" and sig is not None:
            error = f"killed by signal {sig}"
        record = ExitStatus(
            code=code,
            signal=sig,
            finished_at=time.time(),
            status=status,
            termination_reason=reason,
            exit_status=exit_status,
            error=error,
        )
        jobfiles.write_exit_status(self.job_dir, record)  # the file first: it survives a DB error
        if self.job_id:
            try:
                _record_final(self._open_state(), self.job_id, record)
            except Exception as e:  # noqa: BLE001 - the file holds the truth; reconcile applies it
                _log(f"could not record the exit status in the database: {e!r}")
        return 0

    def _outcome(self, code: int | None, sig: int | None, error: str | None) -> tuple[str, str]:
        requested = _read_stop_request(self.job_dir)
        if _Requests.abort or _Requests.stop:
            if requested:
                from ..models.statuses import JobTerminationReason

                return JobTerminationReason(requested).to_status().value, requested
            return "terminated", "aborted_by_user" if _Requests.abort else "terminated_by_user"
        if self.deadline_hit:
            return "terminated", "max_duration_exceeded"
        if error is not None:
            return "failed", "executor_error"
        if code == 0:
            return "done", "done_by_runner"
        return "failed", "container_exited_with_error"

    def _open_state(self) -> Any:
        if self.state is None:
            from ..state import open_state

            self.state = open_state(self.database_url)
        return self.state

    def _db_start(self) -> bool:
        """Record the supervisor in the job row and move it to running. False: do not run."""
        if not self.job_id:
            return True
        from ..state import JobStatus, get_job, set_job_status, update_job

        try:
            state = self._open_state()
            job = get_job(state, self.job_id)
            if job is None:
                _log(f"job {self.job_id} is not in the database: running it anyway")
                return True
            if job.status.is_finished:
                _log(f"job {self.job_id} is already {job.status.value}: not running it")
                return False
            pid = os.getpid()
            update_job(
                state,
                self.job_id,
                supervisor_pid=pid,
                supervisor_token=process_token(pid),
                supervisor_host=socket.gethostname(),
                job_dir=str(self.job_dir),
                log_path=str(self.job_dir / jobfiles.LOG_FILE),
            )
            if job.status is JobStatus.TERMINATING:
                _Requests.stop = True  # stopped before it started
            else:
                set_job_status(state, self.job_id, JobStatus.RUNNING)
        except Exception as e:  # noqa: BLE001 - a DB problem must not lose the job
            _log(f"could not record the job start in the database: {e!r}")
        return True


_FINISHED_JOB_STATUSES = frozenset({"done", "failed", "terminated"})


def _quick_job_status(url: str | None, job_id: str) -> str | None:
    """The job's status read with sqlite3, or None when the database is not a readable SQLite
    file (PostgreSQL, a URL with options): then the caller takes the SQLAlchemy path."""
    if not url or not url.startswith("sqlite:///") or "?" in url:
        return None
    import sqlite3
    from urllib.parse import quote

    path = url.removeprefix("sqlite:///")
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return str(row[0]) if row else None


def _record_final(state: Any, job_id: str, record: ExitStatus) -> Any:
    from ..state import JobStatus, JobTerminationReason, set_job_status

    return set_job_status(
        state,
        job_id,
        JobStatus(record.status),
        termination_reason=JobTerminationReason(record.termination_reason),
        exit_status=record.exit_status,
        error=record.error,
    )


def _read_stop_request(job_dir: Path) -> str | None:
    from ..models.statuses import JobTerminationReason

    try:
        reason = json.loads((job_dir / STOP_REQUEST_FILE).read_text()).get("reason")
        return JobTerminationReason(reason).value if reason else None
    except (FileNotFoundError, ValueError, AttributeError):
        return None


def _kill_session(sid: int, sig: int) -> None:
    """Signal every process group of the job's session (the script's pid is its session id).

    The job script runs its commands under job control, in a process group of their own;
    killing the script's group alone would leave them running, orphaned.
    """
    groups = {sid}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()  # state ppid pgrp session ...
            if len(fields) > 3 and fields[3] == str(sid):
                groups.add(int(fields[2]))
    for pgid in groups:
        _killpg(pgid, sig)


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError, InterruptedError):
        while os.read(fd, 512):
            pass


def _boot_id() -> str:
    try:
        return Path(_BOOT_ID_PATH).read_text().strip()
    except OSError:
        return "noboot"


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} supervisor[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


def _write_pid_file(job_dir: Path, pid: int) -> None:
    data = {"pid": pid, "token": process_token(pid), "host": socket.gethostname()}
    jobfiles.write_json_atomic(job_dir / jobfiles.PID_FILE, data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleetstack.engine.runner.supervisor")
    parser.add_argument("--job-dir", required=True, type=Path)
    parser.add_argument("--detach", action="store_true", help="fork, print the pid, return")
    parser.add_argument("--script", help="overrides supervisor.json")
    parser.add_argument("--working-dir")
    parser.add_argument("--job-id")
    parser.add_argument("--database-url")
    parser.add_argument("--grace", type=float, dest="grace_seconds")
    parser.add_argument("--max-duration", type=float, help="seconds; the job is stopped then")
    args = parser.parse_args(argv)

    # Handlers first: a stop that arrives while we start up must not be lost.
    signal.signal(signal.SIGTERM, _on_stop)
    signal.signal(signal.SIGINT, _on_stop)
    signal.signal(signal.SIGUSR1, _on_abort)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    job_dir = args.job_dir.resolve()
    spec_path = job_dir / jobfiles.SPEC_FILE
    spec = json.loads(spec_path.read_text()) if spec_path.exists() else {}
    for key in ("script", "working_dir", "job_id", "database_url", "grace_seconds"):
        if getattr(args, key) is not None:
            spec[key] = getattr(args, key)
    if args.max_duration is not None:
        spec["max_duration"] = args.max_duration
    if not spec.get("script"):
        parser.error(f"no --script and no {spec_path}")

    if args.detach:
        child = os.fork()
        if child:  # the parent names the child, then leaves: init adopts the supervisor
            _write_pid_file(job_dir, child)
            print(child, flush=True)
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
    else:
        _write_pid_file(job_dir, os.getpid())

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    return Supervisor(job_dir, spec).run(wake_r)


if __name__ == "__main__":
    sys.exit(main())
