"""Starting one submission of a run's job: the job row, the project copy, the job script, the
supervisor. Used by the reconciler (engine/reconciler/jobs.py, provision.py) for every
submission it places.

Where it runs follows the instance: none or a `local` one -> the local supervisor; any other
backend (ssh fleets, cloud instances) -> engine/remote (the follower uploads the same job
script and the project copy to the host and follows the job there). Node N of a multi-node
run gets DSTACK_NODE_RANK=N; the other node variables were set at submit (or, on a fleet
created for the run, once it was up).

A crash while copying the project leaves a job row whose supervisor_pid is this process: the
supervisor's reconciling fails it ("supervisor vanished") instead of leaving it submitted.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from ..errors import FleetstackError
from ..fleets.blocks import assign_blocks, block_job
from ..models.jobs import JobSpec
from ..models.runs import RunSpec
from ..paths import dstack_home
from ..remote.start import is_remote, start_remote_job
from ..runner import jobfiles
from ..runner.jobcontrol import answer_for, record_supervisor
from ..runner.supervisor import start_supervisor
from ..secrets import ENV_FILE, env_file_bytes, job_environment, write_env_file
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


def start_job(
    state: State,
    run: RunRecord,
    *,
    job_num: int,
    submission_num: int,
    instance: InstanceRecord | None = None,
    job: JobRecord | None = None,
) -> JobRecord:
    """Create the job row (unless `job`, the row submit or a retry created, is given), copy
    the project, render the job script, start its supervisor (on `instance`, where
    placement put the job; None: this machine).

    A failure on the way ends the job as failed (executor_error) with the reason as its
    error, so the run's status tells it; the job row is returned either way.
    """
    return start_job_reporting(
        state, run, job_num=job_num, submission_num=submission_num, instance=instance, job=job
    )[0]


def start_job_reporting(
    state: State,
    run: RunRecord,
    *,
    job_num: int,
    submission_num: int,
    instance: InstanceRecord | None = None,
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
            instance_id=instance.id if instance is not None else None,
        )
    elif instance is not None and job.instance_id != instance.id:
        job = update_job(state, job.id, instance_id=instance.id)
    # Until its supervisor runs, this process answers for the job: if it dies while copying
    # the project (kill -9, Ctrl-C), reconciling fails the job instead of leaving it submitted.
    job = answer_for(state, job.id)
    try:
        job_dir.mkdir(parents=True, exist_ok=True)
        code_dir = job_dir / "code"
        root = Path(spec.project_root)
        if not root.is_dir():
            raise FleetstackError(f"the project folder {root} is gone")
        copy_project(root, code_dir, skip=[dstack_home()])
        if instance is not None and is_remote(instance):
            # secret values travel as the host's 0600 job.env, beside the job script
            secrets = job_environment(run) if spec.job.secret_env else {}
            files = {ENV_FILE: (env_file_bytes(secrets), 0o600)} if secrets else None
            job = assign_blocks(state, instance, job)  # its blocks, when `blocks` splits it
            handle = start_remote_job(
                job_dir,
                job=block_job(_node_job(spec.job, job_num), job, instance),
                instance=instance,
                job_id=job.id,
                database_url=state.url,
                grace_seconds=stop_grace_for_supervisor(spec.job),
                max_duration=spec.max_duration,
                files=files,
            )
            return record_supervisor(state, job.id, handle), None
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
    return record_supervisor(state, job.id, handle), None


def _node_job(job: JobSpec, job_num: int) -> JobSpec:
    """The job of node `job_num`: its DSTACK_NODE_RANK."""
    return replace(job, env={**job.env, "DSTACK_NODE_RANK": str(job_num)})
