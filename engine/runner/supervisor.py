"""The job supervisor: a small detached process that runs one job script and records its end.

It is `python -m fleetstack.engine.runner.supervisor --job-dir DIR`, started by
jobcontrol.start_supervisor (whose names are re-exported here for their importers), reading
what to run from DIR/supervisor.json (mode 0600 since env may hold secrets). It runs
`bash SCRIPT` in its own process group, appends the raw bytes of its stdout+stderr to
DIR/output.log (see jobfiles), writes DIR/exit_status.json atomically, then the job's final
status in the DB. Signals to the supervisor: SIGTERM = stop, SIGUSR1 = abort; the reason may
be named beforehand in DIR/stop_request (jobcontrol.stop_job does both).

Exit mapping: code 0 -> done (done_by_runner); code N -> failed (container_exited_with_error,
exit_status N); killed by signal S -> failed (exit_status 128+S); stop -> terminated
(terminated_by_user, or the reason in stop_request); abort -> terminated (aborted_by_user);
--max-duration reached -> terminated (max_duration_exceeded); script could not start ->
failed (executor_error). A crash of the supervisor leaves no exit_status.json:
jobcontrol.reconcile_jobs then kills every process of the job (jobtree.py: its session and
the children marked through their environment, setsid ones too) and records it failed.
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
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Final

from .. import state as store  # its names load SQLAlchemy on first use, not on import
from ..models.statuses import JobStatus, JobTerminationReason
from ..paths import private_process
from ..state import fastread
from . import jobfiles, jobtree
from .jobcontrol import (
    DEFAULT_GRACE_SECONDS,
    SupervisorHandle,
    is_alive,
    process_token,
    read_pid_file,
    reconcile_jobs,
    record_exit_status,
    start_supervisor,
    stop_job,
    wait_for_exit,
    write_pid_file,
)
from .jobfiles import ExitStatus, SupervisorSpec

if TYPE_CHECKING:
    from ..state import State

__all__ = [  # the job-control names, importable from here as before the split
    "DEFAULT_GRACE_SECONDS",
    "SupervisorHandle",
    "is_alive",
    "main",
    "process_token",
    "read_pid_file",
    "reconcile_jobs",
    "start_supervisor",
    "stop_job",
    "wait_for_exit",
]

DRAIN_SECONDS = 5.0  # after the job exits, how long escaped children may hold the pipe
# The command-line options that override supervisor.json when given (dest = the spec's key).
_SPEC_OPTIONS: Final = (
    "script", "working_dir", "job_id", "database_url", "grace_seconds", "max_duration"
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the supervisor process (the command line above); returns its exit code."""
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
    private_process()  # its files (log, index, exit status) are its user's only

    # Handlers first: a stop that arrives while we start up must not be lost.
    signal.signal(signal.SIGTERM, _on_stop)
    signal.signal(signal.SIGINT, _on_stop)
    signal.signal(signal.SIGUSR1, _on_abort)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    job_dir = args.job_dir.resolve()
    spec_path = job_dir / jobfiles.SPEC_FILE
    spec: SupervisorSpec = json.loads(spec_path.read_text()) if spec_path.exists() else {}
    options = vars(args)
    for key in _SPEC_OPTIONS:
        if options[key] is not None:
            spec[key] = options[key]
    if not spec.get("script"):
        parser.error(f"no --script and no {spec_path}")

    if args.detach:
        child = os.fork()
        if child:  # the parent names the child, then leaves: init adopts the supervisor
            write_pid_file(job_dir, child)
            print(child, flush=True)
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
    else:
        write_pid_file(job_dir, os.getpid())

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    return Supervisor(job_dir, spec).run(wake_r)


class _Requests:
    """Flags set by signal handlers, read by the main loop."""

    stop = False
    abort = False


def _on_stop(_signum: int, _frame: FrameType | None) -> None:
    _Requests.stop = True


def _on_abort(_signum: int, _frame: FrameType | None) -> None:
    _Requests.abort = True


class Supervisor:
    """One job script run to its end, its output logged, its end recorded."""

    def __init__(self, job_dir: Path, spec: SupervisorSpec) -> None:
        self.job_dir = job_dir
        self.script = spec["script"]
        self.working_dir = spec.get("working_dir") or str(job_dir)
        self.env = dict(os.environ) if spec.get("inherit_env", True) else {}
        self.spec_env = spec.get("env") or {}
        self.env.update(self.spec_env)
        self.job_id = spec.get("job_id")
        self.database_url = spec.get("database_url")
        self.grace = float(spec.get("grace_seconds") or DEFAULT_GRACE_SECONDS)
        max_duration = spec.get("max_duration")
        self.max_duration = float(max_duration) if max_duration else None
        self.state: State | None = None
        self.deadline_hit = False
        self.mark = jobtree.new_mark()
        self.tree: jobtree.JobTree | None = None
        self._start_thread: threading.Thread | None = None

    def run(self, wakeup_fd: int) -> int:
        """Run the job to its end; returns the supervisor's own exit code (0)."""
        # On SQLite a plain read says whether the job may start (ms); the bookkeeping through
        # SQLAlchemy (~0.4 s to import) then runs beside the job instead of before it.
        quick = fastread.job_status(self.database_url, self.job_id) if self.job_id else None
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
        self.env[jobtree.MARK_VAR] = self.mark
        # The job script's temporary files (its commands file) go to the job's own folder,
        # removed when the job ends, however it ends (a SIGKILL runs no trap).
        if "TMPDIR" not in (self.spec_env or {}):
            tmp = jobtree.temp_dir(self.job_dir)
            tmp.mkdir(mode=0o700, exist_ok=True)
            self.env["TMPDIR"] = str(tmp)
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
            self.tree = jobtree.record_tree(self.job_dir, proc.pid, self.mark)
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
                self._kill_job(signal.SIGKILL)
                kill_sent = True
            if not term_sent and (_Requests.stop or (deadline is not None and now >= deadline)):
                self.deadline_hit = not _Requests.stop
                _killpg(proc.pid, signal.SIGTERM)
                term_sent, kill_at = True, now + self.grace
            if kill_at is not None and now >= kill_at and not kill_sent:
                self._kill_job(signal.SIGKILL)
                kill_sent = True
            if proc.poll() is not None:
                break
        # The script is gone: nothing of its process group may outlive it.
        self._kill_job(signal.SIGKILL)
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

    def _kill_job(self, sig: int) -> None:
        """Signal every process of the job: its session and its marked escapees (setsid)."""
        if self.tree is not None:
            jobtree.kill_tree(self.tree, sig)

    def _db_start_beside(self) -> None:
        """_db_start while the job already runs: a job found finished meanwhile is killed."""
        if not self._db_start():
            _Requests.abort = True

    def _finish(self, code: int | None, sig: int | None, *, error: str | None = None) -> int:
        if self._start_thread is not None:
            self._start_thread.join()  # running is recorded before the final status
        jobtree.remove_temp_dir(self.job_dir)
        # the job's secret values (job.env) outlive it on disk never, however it ended
        with contextlib.suppress(OSError):
            (self.job_dir / jobfiles.ENV_FILE).unlink()
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
                record_exit_status(self._open_state(), self.job_id, record)
            except Exception as e:  # noqa: BLE001 - the file holds the truth; reconcile applies it
                _log(f"could not record the exit status in the database: {e!r}")
        return 0

    def _outcome(self, code: int | None, sig: int | None, error: str | None) -> tuple[str, str]:
        requested = _read_stop_request(self.job_dir)
        if _Requests.abort or _Requests.stop:
            if requested:
                return JobTerminationReason(requested).to_status().value, requested
            return "terminated", "aborted_by_user" if _Requests.abort else "terminated_by_user"
        if self.deadline_hit:
            return "terminated", "max_duration_exceeded"
        if error is not None:
            return "failed", "executor_error"
        if code == 0:
            return "done", "done_by_runner"
        return "failed", "container_exited_with_error"

    def _open_state(self) -> State:
        if self.state is None:
            self.state = store.open_state(self.database_url)
        return self.state

    def _db_start(self) -> bool:
        """Record the supervisor in the job row and move it to running. False: do not run."""
        if not self.job_id:
            return True
        try:
            state = self._open_state()
            job = store.get_job(state, self.job_id)
            if job is None:
                _log(f"job {self.job_id} is not in the database: running it anyway")
                return True
            if job.status.is_finished:
                _log(f"job {self.job_id} is already {job.status.value}: not running it")
                return False
            pid = os.getpid()
            store.update_job(
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
                store.set_job_status(state, self.job_id, JobStatus.RUNNING)
        except Exception as e:  # noqa: BLE001 - a DB problem must not lose the job
            _log(f"could not record the job start in the database: {e!r}")
        return True


_FINISHED_JOB_STATUSES = frozenset({"done", "failed", "terminated"})


def _read_stop_request(job_dir: Path) -> str | None:
    try:
        reason = json.loads((job_dir / jobfiles.STOP_REQUEST_FILE).read_text()).get("reason")
        return JobTerminationReason(reason).value if reason else None
    except (FileNotFoundError, ValueError, AttributeError):
        return None


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError, InterruptedError):
        while os.read(fd, 512):
            pass


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} supervisor[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
