"""Starting one submission of a run's job: the job row, the project copy, the job script, the
supervisor. Used by submit_run (the first submission) and the lifecycle (retries).

A crash while copying the project leaves a job row whose supervisor_pid is this process: the
supervisor's reconciling fails it ("supervisor vanished") instead of leaving it submitted.
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict
from pathlib import Path

from ..errors import FleetstackError
from ..models.runs import RunSpec
from ..paths import dstack_home
from ..runner import jobfiles
from ..runner.supervisor import process_token, start_supervisor
from ..secrets import ENV_FILE, job_environment, write_env_file
from ..state import (
    InstanceRecord,
    JobRecord,
    JobTerminationReason,
    RunRecord,
    State,
    create_job,
    finish_job,
    update_job,
)
from .code import copy_project
from .jobs import job_for_submission, stop_grace_for_supervisor, supervisor_environment


def resubmit_jobs(state: State, run: RunRecord, jobs: list[JobRecord]) -> list[JobRecord]:
    """Start a new submission (submission_num + 1) of each of `jobs` (the latest ones)."""
    return [
        start_job(state, run, job_num=job.job_num, submission_num=job.submission_num + 1)
        for job in jobs
    ]


def start_job(
    state: State,
    run: RunRecord,
    *,
    job_num: int,
    submission_num: int,
    instance: InstanceRecord | None = None,
    job: JobRecord | None = None,
) -> JobRecord:
    """Create the job row, copy the project, render the job script, start its supervisor.

    A failure on the way ends the job as failed (executor_error) with the reason as its
    error, so the run's status tells it; the job row is returned either way. `job` is the
    row submit (or a retry) already created; `instance` is where placement put the job
    (only this machine runs jobs so far: None).
    """
    return start_job_reporting(state, run, job_num=job_num, submission_num=submission_num, job=job)[
        0
    ]


def start_job_reporting(
    state: State,
    run: RunRecord,
    *,
    job_num: int,
    submission_num: int,
    job: JobRecord | None = None,
) -> tuple[JobRecord, str | None]:
    """start_job, and the reason when the job did not start (None when it did)."""
    # templates/render wraps jinja2 (heavy): loaded when a job script is rendered.
    from ...templates.render import render_job_script

    spec = RunSpec.of(run.run_spec)
    if spec.job is None or spec.run_dir is None or spec.project_root is None:
        raise FleetstackError(f"run {run.name} has no job to start (its run_spec is incomplete)")
    job_dir = Path(spec.run_dir) / f"job-{job_num}-{submission_num}"
    if job is None:
        job = create_job(
            state,
            run.id,
            job_num=job_num,
            submission_num=submission_num,
            job_spec=asdict(spec.job),
            job_dir=str(job_dir),
            log_path=str(job_dir / jobfiles.LOG_FILE),
        )
    # Until its supervisor runs, this process answers for the job: if it dies while copying
    # the project (kill -9, Ctrl-C), reconciling fails the job instead of leaving it submitted.
    me = os.getpid()
    job = update_job(
        state,
        job.id,
        supervisor_pid=me,
        supervisor_token=process_token(me),
        supervisor_host=socket.gethostname(),
    )
    try:
        job_dir.mkdir(parents=True, exist_ok=True)
        code_dir = job_dir / "code"
        root = Path(spec.project_root)
        if not root.is_dir():
            raise FleetstackError(f"the project folder {root} is gone")
        copy_project(root, code_dir, skip=[dstack_home()])
        script = job_dir / "job.sh"
        if spec.job.secret_env:
            write_env_file(job_dir / ENV_FILE, job_environment(run))
        script.write_text(render_job_script(job_for_submission(spec.job, code_dir)))
        handle = start_supervisor(
            job_dir,
            script=script,
            working_dir=code_dir,
            env=supervisor_environment(spec.job),
            inherit_env=False,
            job_id=job.id,
            database_url=state.url,
            grace_seconds=stop_grace_for_supervisor(spec.job),
            max_duration=spec.max_duration,
        )
    except (OSError, ValueError, RuntimeError, FleetstackError) as e:
        error = f"job did not start: {e}"
        job = finish_job(state, job.id, JobTerminationReason.EXECUTOR_ERROR, error=error)
        return job, error
    job = update_job(
        state,
        job.id,
        supervisor_pid=handle.pid,
        supervisor_token=handle.token,
        supervisor_host=handle.host,
    )
    return job, None
