"""Submitting a run: the run and job rows, the project copy, the job script, the supervisor.

    run = submit_run(plan, run_args=["--epochs", "3"])

Files of a job go to $DSTACK_HOME/runs/NAME-RUNID8/job-N-S/ (the run id keeps a new run
that reuses a finished run's name apart): `code/` (the project copy the commands run in),
`job.sh` (the rendered job script), `job.env` (its secret env values, 0600), and what the
supervisor writes (output.log...). Secret env values (stored secrets, `- NAME` entries
from the caller's environment) are digests in every row; their values are kept encrypted
in the project's secret store under the run's id (engine/secrets) from before the run_spec
is written until the run is deleted.
Only the local backend runs jobs for now: a cloud offer needs a fleet. The run's RunSpec
(engine/models/runs.py) is written right after the run row, before its first job starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..backends.base import Capability
from ..backends.local.host import host_python
from ..backends.registry import get_backend, names_with
from ..config import ServiceConfiguration, TaskConfiguration
from ..errors import FleetstackError
from ..models.offers import Offer
from ..models.plan import Plan
from ..models.runs import RetrySpec, RunSpec
from ..offers.match import find_offers
from ..paths import dstack_home
from ..secrets import keep_run_values
from ..state import RunRecord, State, create_run, get_run, open_state, update_run
from .code import project_root
from .jobs import build_job
from .lifecycle import refresh_run
from .starter import start_job_reporting
from .watch import start_watcher


def submit_run(
    plan: Plan, *, run_args: Sequence[str] = (), state: State | None = None
) -> RunRecord:
    """Create the run planned in `plan` on the plan's chosen offer and start its job; returns
    the run as submitted.

    Raises FleetstackError when there is no offer, the chosen offer is not local, the
    configuration type cannot run here, or a live run already has the name.
    """
    configuration = plan.configuration
    offer = _local_offer(plan)
    if not isinstance(configuration, TaskConfiguration | ServiceConfiguration):
        raise FleetstackError(
            f"{plan.configuration_path}: type: {configuration.type} cannot run on the local "
            "backend yet; use type: task (or service)"
        )
    if configuration.python is not None and configuration.image is None:
        _check_host_python(plan.configuration_path, configuration.python)
    if not configuration.commands and not configuration.setup:
        raise FleetstackError(
            f"{plan.configuration_path}: commands: a {configuration.type} needs at least one "
            "command to run"
        )
    state = state or open_state()
    config_path = Path(plan.configuration_path)
    root = project_root(config_path)
    run = create_run(
        state,
        name=configuration.name,
        configuration_path=str(config_path.resolve()),
        configuration=configuration.model_dump(mode="json"),
        backend=offer.backend,
        region=offer.region,
        price=offer.price * plan.requirements.nodes,
        resources=offer.resources_text(),
    )
    retry = configuration.retry
    run_spec = RunSpec(
        project_root=str(root),
        run_args=list(run_args),
        run_dir=str(dstack_home() / "runs" / f"{run.name}-{run.id[:8]}"),
        job=build_job(
            configuration,
            run_name=run.name,
            run_id=run.id,
            gpus=offer.gpu_count,
            secret_env=plan.secret_env,
        ),
        max_duration=configuration.max_duration,
        retry=RetrySpec(on_events=list(retry.on_events), duration=retry.duration)
        if retry
        else None,
        offer=offer.to_json(plan.requirements.nodes),
    )
    # the configuration, run_spec and job rows hold digests; the values go to the store
    keep_run_values(run, plan.secret_values)
    run = update_run(state, run.id, run_spec=run_spec.model_dump(mode="json"))
    job, error = start_job_reporting(state, run, job_num=0, submission_num=0)
    if error is not None:
        refresh_run(state, run)
        raise FleetstackError(f"run {run.name} could not start: {error}")
    if run_spec.retry:
        _start_watcher(run, state)
    return get_run(state, run.id) or run


def _start_watcher(run: RunRecord, state: State) -> None:
    """Retries must happen while nobody runs `dstack ps`: a watcher process carries them."""
    with contextlib.suppress(OSError):  # `dstack ps` and an attached apply still refresh it
        start_watcher(run.id, state.url)


def _local_offer(plan: Plan) -> Offer:
    """The plan's chosen offer, when this machine can run it (the only backend that runs jobs)."""
    offer = plan.chosen_offer
    if not plan.offers.offers:
        raise FleetstackError(f"nothing to submit: {plan.offers.empty_reason or 'no offers'}")
    if offer is not None and get_backend(offer.backend).supports(Capability.LOCAL_JOBS):
        return offer
    clouds = list(dict.fromkeys(o.backend for o in plan.offers.offers))
    where = ", ".join(clouds[:4]) + (" and others" if len(clouds) > 4 else "")
    local = find_offers(replace(plan.requirements, backends=names_with(Capability.LOCAL_JOBS)))
    if local.offers:
        instead = (
            "run on this machine with `-b local` (or `backends: [local]` in the configuration)"
        )
    else:
        instead = f"this machine cannot run it either: {local.empty_reason}"
    raise FleetstackError(
        f"{plan.requirements.resources.pretty()} is offered on {where}, but running tasks on "
        "cloud instances is not available yet (`--dry-run` shows the stack it would create, and "
        f"`type: fleet` configurations create cloud fleets); {instead}"
    )


def _check_host_python(file: str, wanted: str) -> None:
    """A local job runs this machine's python: refuse a `python:` it does not have."""
    found = host_python()
    if found is None:
        raise FleetstackError(
            f"{file}: python: {wanted}: the local backend runs commands with this machine's "
            f"python, and none is on PATH; install Python {wanted} or remove `python:`"
        )
    if found.version.split(".")[:2] != wanted.split(".")[:2]:
        short = ".".join(found.version.split(".")[:2])
        raise FleetstackError(
            f'{file}: python: "{wanted}": the local backend runs commands with this machine\'s '
            f'Python {found.version} ({found.path}); write python: "{short}" or remove `python:`'
        )
