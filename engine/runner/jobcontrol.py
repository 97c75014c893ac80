"""Starting, inspecting and stopping job supervisors (the process is runner/supervisor.py).

    handle = start_supervisor(job_dir, script=..., working_dir=..., env=..., job_id=...)
    stop_job(job_dir)               # SIGTERM to the job's process group, grace, then SIGKILL
    stop_job(job_dir, abort=True)   # SIGKILL at once
    reconcile_jobs(state)           # `dstack ps`: jobs whose supervisor vanished -> failed

A supervisor is named by DIR/supervisor.pid: its pid, a token (boot id + process start
time) that tells it from a later process with the same pid, and its host. A crash of the
caller leaves the supervisor running (it is detached); a crash of the supervisor leaves a
job without exit_status.json: reconcile_jobs kills the job's processes and records it
failed ("supervisor vanished").
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import state as store  # its names load SQLAlchemy on first use, not on import
from ..models.statuses import JobStatus, JobTerminationReason
from . import jobfiles, jobtree
from .jobfiles import ExitStatus, SupervisorSpec

if TYPE_CHECKING:
    from ..state import JobRecord, State

DEFAULT_GRACE_SECONDS = 10.0
_BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


@dataclass(frozen=True)
class SupervisorHandle:
    pid: int
    token: str | None  # boot id + process start time: tells a live supervisor from a reused pid
    host: str

    @classmethod
    def of(cls, pid: int) -> SupervisorHandle:
        """The handle of process `pid` of this host (answer_for passes this process's own)."""
        return cls(pid=pid, token=process_token(pid), host=socket.gethostname())


def answer_for(state: State, job_id: str) -> JobRecord:
    """Name this process the job's supervisor until the real one runs: if it dies first,
    reconciling fails the job ("supervisor vanished") instead of leaving it waiting."""
    return record_supervisor(state, job_id, SupervisorHandle.of(os.getpid()))


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
    spec: SupervisorSpec = {
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
    for name in (jobfiles.EXIT_STATUS_FILE, jobfiles.STOP_REQUEST_FILE):
        (job_dir / name).unlink(missing_ok=True)
    return spawn_detached("fleetstack.engine.runner.supervisor", job_dir, "the job supervisor")


def spawn_detached(module: str, job_dir: Path, what: str) -> SupervisorHandle:
    """Run `python -m MODULE --job-dir DIR --detach` (it forks, names itself in
    DIR/supervisor.pid, prints its pid) and return the handle of the detached process."""
    with open(job_dir / jobfiles.SUPERVISOR_LOG_FILE, "ab") as diag:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--job-dir", str(job_dir), "--detach"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=diag,
            start_new_session=True,
            close_fds=True,
        )
        out, _ = proc.communicate()
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(
            f"{what} did not start (exit {proc.returncode}); "
            f"see {job_dir / jobfiles.SUPERVISOR_LOG_FILE}"
        )
    pid = int(out.split()[0])
    return SupervisorHandle(pid=pid, token=process_token(pid), host=socket.gethostname())


def record_supervisor(state: State, job_id: str, handle: SupervisorHandle) -> JobRecord:
    """Name `handle`'s process as the one answering for the job in its row."""
    return store.update_job(
        state,
        job_id,
        supervisor_pid=handle.pid,
        supervisor_token=handle.token,
        supervisor_host=handle.host,
    )


def stop_job(job_dir: Path | str, *, abort: bool = False, reason: str | None = None) -> bool:
    """Ask the job's supervisor to stop (grace then kill) or abort (kill at once).

    `reason` is a JobTerminationReason value recorded instead of terminated_by_user /
    aborted_by_user. Returns False when no live supervisor was found (already ended).
    """
    if reason is not None:
        reason = JobTerminationReason(reason).value  # a typo must fail here, not in the job
    job_dir = Path(job_dir)
    handle = read_pid_file(job_dir)
    if handle is None or not is_alive(handle.pid, handle.token):
        return False
    jobfiles.write_json_atomic(
        job_dir / jobfiles.STOP_REQUEST_FILE, {"abort": abort, "reason": reason}
    )
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
    """The supervisor named by DIR/supervisor.pid, None when there is no readable file."""
    try:
        data = json.loads((Path(job_dir) / jobfiles.PID_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return SupervisorHandle(pid=int(data["pid"]), token=data.get("token"), host=data.get("host"))


def write_pid_file(job_dir: Path, pid: int) -> None:
    """Name the supervisor `pid` (of this host) in DIR/supervisor.pid."""
    data = {"pid": pid, "token": process_token(pid), "host": socket.gethostname()}
    jobfiles.write_json_atomic(job_dir / jobfiles.PID_FILE, data)


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


def reconcile_jobs(state: State) -> list[JobRecord]:
    """Settle jobs of this host whose supervisor has ended; returns the jobs changed.

    With an exit_status.json, its recorded status is applied (the supervisor died between
    the file and the DB); without one, every process of the job is killed (jobtree.py) and
    the job failed: executor_error, "supervisor vanished".
    Jobs supervised on another host are left alone.
    """
    host = socket.gethostname()
    live = [s for s in JobStatus if not s.is_finished]
    changed = []
    for job in store.list_jobs(state, statuses=live):
        if job.supervisor_pid is None or job.supervisor_host != host:
            continue
        recorded = jobfiles.read_exit_status(job.job_dir) if job.job_dir else None
        if recorded is None and is_alive(job.supervisor_pid, job.supervisor_token):
            continue
        if recorded is None and job.job_dir:  # it may have written the file just now
            recorded = jobfiles.read_exit_status(job.job_dir)
        if recorded is not None:
            changed.append(record_exit_status(state, job.id, recorded))
            continue
        tree = jobtree.read_tree(job.job_dir) if job.job_dir else None
        if tree is not None:  # the job outlived its supervisor: nothing of it may go on
            jobtree.kill_tree(tree)
        if job.job_dir:
            jobtree.remove_temp_dir(job.job_dir)
        changed.append(
            store.set_job_status(
                state,
                job.id,
                JobStatus.FAILED,
                termination_reason=JobTerminationReason.EXECUTOR_ERROR,
                error="supervisor vanished",
            )
        )
    return changed


def record_exit_status(state: State, job_id: str, record: ExitStatus) -> JobRecord:
    """Move the job to the final status that `record` (exit_status.json) says."""
    return store.set_job_status(
        state,
        job_id,
        JobStatus(record.status),
        termination_reason=JobTerminationReason(record.termination_reason),
        exit_status=record.exit_status,
        error=record.error,
    )


def _boot_id() -> str:
    try:
        return Path(_BOOT_ID_PATH).read_text().strip()
    except OSError:
        return "noboot"
