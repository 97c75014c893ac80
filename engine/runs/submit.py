"""Submitting a run: the run and job rows, the project copy, the job script, the supervisor.

    run = submit_run(plan, run_args=["--epochs", "3"])

Files of a job go to $DSTACK_HOME/runs/NAME-RUNID8/job-N-S/ (the run id keeps a new run
that reuses a finished run's name apart): `code/` (the project copy the commands run in),
`job.sh` (the rendered job script), and what the supervisor writes (output.log...).
Only the local backend runs jobs for now: a cloud offer needs a fleet.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Any

from ..backends.base import Capability
from ..backends.registry import get_backend
from ..errors import FleetstackError
from ..state import (
    JobRecord,
    JobTerminationReason,
    RunRecord,
    State,
    create_job,
    create_run,
    finish_job,
    get_run,
    update_job,
)

SUPPORTED_TYPES = ("task", "service")


def submit_run(
    plan: Any, *, run_args: list[str] | tuple[str, ...] = (), state: State | None = None
) -> RunRecord:
    """Create the run planned in `plan` and start its job; returns the run as submitted.

    Raises FleetstackError when there is no offer, the chosen offer is not local, the
    configuration type cannot run here, or a live run already has the name.
    """
    from ..paths import dstack_home
    from ..state import open_state
    from .code import project_root
    from .jobs import job_template

    configuration = plan.configuration
    offer = _chosen_offer(plan)
    kind = getattr(configuration, "type", "")
    if kind not in SUPPORTED_TYPES:
        raise FleetstackError(
            f"{plan.configuration_path}: type: {kind} cannot run on the local backend yet; "
            "use type: task (or service)"
        )
    if not configuration.commands and not getattr(configuration, "setup", None):
        raise FleetstackError(
            f"{plan.configuration_path}: commands: a {kind} needs at least one command to run"
        )
    state = state or open_state()
    config_path = Path(plan.configuration_path)
    root = project_root(config_path)
    run = create_run(
        state,
        name=getattr(configuration, "name", None),
        configuration_path=str(config_path.resolve()),
        configuration=configuration.model_dump(mode="json"),
        backend=offer.backend,
        region=offer.region,
        price=offer.price * plan.requirements.nodes,
        resources=offer.resources_text(),
    )
    retry = getattr(configuration, "retry", None)
    run_spec = {
        "project_root": str(root),
        "run_args": list(run_args),
        "run_dir": str(dstack_home() / "runs" / f"{run.name}-{run.id[:8]}"),
        "job": job_template(configuration, run_name=run.name, run_id=run.id, gpus=offer.gpu_count),
        "max_duration": getattr(configuration, "max_duration", None),
        "retry": (
            {"on_events": list(retry.on_events), "duration": retry.duration} if retry else None
        ),
        "offer": offer.to_json(plan.requirements.nodes),
    }
    from ..state import update_run

    run = update_run(state, run.id, run_spec=run_spec)
    job, error = _start_job(state, run, job_num=0, submission_num=0)
    if error is not None:
        from .lifecycle import refresh_run

        refresh_run(state, run)
        raise FleetstackError(f"run {run.name} could not start: {error}")
    if run_spec["retry"]:
        _start_watcher(run, state)
    return get_run(state, run.id) or run


def resubmit_jobs(state: State, run: RunRecord, jobs: list[JobRecord]) -> list[JobRecord]:
    """Start a new submission (submission_num + 1) of each of `jobs` (the latest ones)."""
    return [
        start_job(state, run, job_num=job.job_num, submission_num=job.submission_num + 1)
        for job in jobs
    ]


def start_job(state: State, run: RunRecord, *, job_num: int, submission_num: int) -> JobRecord:
    """Create the job row, copy the project, render the job script, start its supervisor.

    A failure on the way ends the job as failed (executor_error) with the reason as its
    error, so the run's status tells it; the job row is returned either way.
    """
    return _start_job(state, run, job_num=job_num, submission_num=submission_num)[0]


def _start_job(
    state: State, run: RunRecord, *, job_num: int, submission_num: int
) -> tuple[JobRecord, str | None]:
    from ...templates.render import render_job_script
    from ..paths import dstack_home
    from ..runner import jobfiles
    from ..runner.supervisor import process_token, start_supervisor
    from .code import copy_project
    from .jobs import (
        job_spec,
        stop_grace_for_supervisor,
        supervisor_environment,
    )

    spec = run.run_spec or {}
    template = spec["job"]
    job_dir = Path(spec["run_dir"]) / f"job-{job_num}-{submission_num}"
    job = create_job(
        state,
        run.id,
        job_num=job_num,
        submission_num=submission_num,
        job_spec=template,
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
        root = Path(spec["project_root"])
        if not root.is_dir():
            raise FleetstackError(f"the project folder {root} is gone")
        copy_project(root, code_dir, skip=[dstack_home()])
        script = job_dir / "job.sh"
        script.write_text(render_job_script(job_spec(template, code_dir)))
        handle = start_supervisor(
            job_dir,
            script=script,
            working_dir=code_dir,
            env=supervisor_environment(),
            inherit_env=False,
            job_id=job.id,
            database_url=state.url,
            grace_seconds=stop_grace_for_supervisor(template),
            max_duration=spec.get("max_duration"),
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


def _start_watcher(run: RunRecord, state: State) -> None:
    """Retries must happen while nobody runs `dstack ps`: a watcher process carries them."""
    from .watch import start_watcher

    with contextlib.suppress(OSError):  # `dstack ps` and an attached apply still refresh it
        start_watcher(run.id, state.url)


def _chosen_offer(plan: Any) -> Any:
    offers = plan.offers.offers
    if not offers:
        raise FleetstackError(f"nothing to submit: {plan.offers.empty_reason or 'no offers'}")
    offer = offers[0]
    if not get_backend(offer.backend).supports(Capability.LOCAL_JOBS):
        raise FleetstackError(
            f"the cheapest offer is on {offer.backend}: running tasks on cloud instances is not "
            "available yet (`--dry-run` shows the stack it would create, and `type: fleet` "
            "configurations create cloud fleets); run on this machine with `-b local` (or "
            "`backends: [local]` in the configuration)"
        )
    return offer
