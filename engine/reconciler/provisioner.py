"""The provisioner: one detached process per job whose run's fleet must be brought up, so a
pass never waits for a cloud (`up` and the boot take minutes there), and several runs
provision at once while the server goes on moving the others.

    handle = spawn_provisioner(state, job)   # in the server's pass: the job's supervisor
    dstack server --provision JOB_ID         # what it runs (hidden): provision_job, then exit

It is started through the entry the server was started from (daemon.entry_command), so a
test bench's stack engine is there too, and named as the job's supervisor: a provisioner
that dies is settled like a supervisor that died ("supervisor vanished"), and the run's retry
decides. Once the job runs on its instance, the job's follower is its supervisor and the
provisioner leaves. Its own output (a crash's traceback) goes to JOB_DIR/provisioner.log.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from ..models.statuses import JobStatus
from ..runner.jobcontrol import SupervisorHandle, answer_for, record_supervisor
from ..state import JobRecord, State, get_job, get_run, open_state, set_job_status
from ..state.models import utcnow
from . import daemon
from .context import PassContext, PassReport

PROVISION_FLAG = "--provision"
LOG_FILE = "provisioner.log"


def spawn_provisioner(state: State, job: JobRecord) -> JobRecord:
    """Move the job to `provisioning` and start its provisioner; the job, naming it."""
    answer_for(state, job.id)  # this server, until the provisioner names itself
    job = set_job_status(state, job.id, JobStatus.PROVISIONING)
    job_dir = Path(job.job_dir) if job.job_dir else Path.cwd()
    job_dir.mkdir(parents=True, exist_ok=True)
    with open(job_dir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, *daemon.entry_command(), "server", PROVISION_FLAG, job.id],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, daemon.DATABASE_URL_ENV: state.url},
            start_new_session=True,
            close_fds=True,
        )
        out, _ = proc.communicate(timeout=60)
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(f"the provisioner did not start; see {job_dir / LOG_FILE}")
    return record_supervisor(state, job.id, SupervisorHandle.of(int(out.split()[0])))


def provisioner_main(job_id: str) -> int:
    """`dstack server --provision JOB_ID`: fork, print the child's pid, and in the child
    provision the job (its output to JOB_DIR/provisioner.log)."""
    pid = os.fork()
    if pid > 0:
        print(pid, flush=True)
        os._exit(0)
    os.setsid()
    state = open_state()
    job = get_job(state, job_id)
    if job is not None and job.job_dir:
        fd = os.open(Path(job.job_dir) / LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    else:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    return _provision(state, job_id)


def _provision(state: State, job_id: str) -> int:
    from .provision import provision_job  # the stack machinery: loaded in this process only

    job = get_job(state, job_id)
    run = get_run(state, job.run_id) if job is not None else None
    if job is None or run is None or job.status is not JobStatus.PROVISIONING:
        return 0  # stopped (or settled) before this process ran: nothing to bring up
    owner = f"provisioner:{socket.gethostname()}:{os.getpid()}"
    ctx = PassContext(state, utcnow(), owner, None, PassReport())
    provision_job(ctx, run, job, ctx.drivers())
    for error in ctx.report.errors:
        print(error, file=sys.stderr, flush=True)
    return 0
