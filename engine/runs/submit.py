"""Submitting a run: the run and its job rows, in ONE transaction, status `submitted`.

    run = submit_run(plan, run_args=["--epochs", "3"])

Submitting starts nothing: the reconciler (engine/reconciler, `dstack server`) places each
submitted job and starts it (engine/runs/starter.start_job). A crash of the submitting
process leaves the run with its job, or nothing at all.

Files of a job go to $DSTACK_HOME/runs/NAME-RUNID8/job-N-S/ (the run id keeps a new run
that reuses a finished run's name apart): `code/` (the project copy the commands run in),
`job.sh` (the rendered job script), `job.env` (its secret env values, 0600), and what the
supervisor writes (output.log...). Secret env values (stored secrets, `- NAME` entries
from the caller's environment) are digests in every row; their values are kept encrypted
in the project's secret store under the run's id (engine/secrets) from before the run_spec
is written until the run is deleted.
A run that no idle instance takes runs on this machine when the plan's offer is local, and
on a fleet created for the run when it is a stack cloud's: the run's `provision`
(engine/fleets/for_run.py) names the fleet and the stacks to try, and the reconciler brings
one up. The run's RunSpec (engine/models/runs.py) is written with the run row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from ..backends.base import Capability
from ..backends.local.host import host_python
from ..backends.registry import get_backend, names_with
from ..config import ServiceConfiguration, TaskConfiguration
from ..errors import FleetstackError
from ..fleets.for_run import fleet_job, provision_for
from ..fleets.placement import cluster_job, instance_offer, place_run
from ..models.json import JSONObject
from ..models.offers import Offer
from ..models.plan import Plan
from ..models.runs import RetrySpec, RunSpec
from ..offers.match import find_offers
from ..paths import dstack_home
from ..runner.jobfiles import LOG_FILE
from ..runner.keys import project_key
from ..secrets.store import SecretStore
from ..state import (
    RunRecord,
    State,
    create_run_with_jobs,
    get_fleet_by_name,
    get_run_by_name,
    jobs_of_run,
    open_state,
)
from ..state.runs import DEFAULT_PROJECT, NewJob
from .code import project_root
from .control import remove_run_files


def submit_run(
    plan: Plan, *, run_args: Sequence[str] = (), state: State | None = None
) -> RunRecord:
    """Create the run planned in `plan` on the plan's chosen offer, with its job, both
    `submitted` (the reconciler starts the job); returns the run.

    Raises FleetstackError when there is no offer, the chosen offer is not local, the
    configuration type cannot run here, or a live run already has the name.
    """
    configuration = plan.configuration
    if not isinstance(configuration, TaskConfiguration | ServiceConfiguration):
        raise FleetstackError(
            f"{plan.configuration_path}: type: {configuration.type} cannot run on the local "
            "backend yet; use type: task (or service)"
        )
    if not configuration.commands and not configuration.setup:
        raise FleetstackError(
            f"{plan.configuration_path}: commands: a {configuration.type} needs at least one "
            "command to run"
        )
    state = state or open_state()
    # placement (engine/fleets/placement.py): idle instances of a live fleet, else the offer
    instances = place_run(state, plan)
    run_id = str(uuid.uuid4())
    name = configuration.name
    provision: JSONObject | None = None
    if instances:
        offer = instance_offer(instances[0])
    elif (cloud := _stack_offer(plan)) is not None:
        # a fleet created for the run: its stack, exactly as planned, is brought up by the
        # reconciler (engine/reconciler/provision.py); the run takes the name the plan showed
        offer, name = cloud, name or plan.run_name
        key = project_key(dstack_home(), create=True).public_key
        fleet = _fleet_name(state, name, run_id)
        provision = provision_for(plan, fleet, ssh_public_key=key)
    else:
        offer = _local_offer(plan)
    if configuration.python is not None and configuration.image is None and not instances:
        _check_host_python(plan.configuration_path, configuration.python)
    config_path = Path(plan.configuration_path)
    root = project_root(config_path)
    retry = configuration.retry

    def build(name: str, run_id: str) -> tuple[JSONObject, list[NewJob]]:
        run_dir = dstack_home() / "runs" / f"{name}-{run_id[:8]}"
        if provision is not None:  # nodes of a fleet to come: addresses added once it is up
            job = fleet_job(configuration, name, run_id, offer.gpu_count,
                            nodes=plan.requirements.nodes, secret_env=plan.secret_env)  # fmt: skip
        else:
            job = cluster_job(configuration, name, run_id, offer.gpu_count, instances,
                              secret_env=plan.secret_env)  # fmt: skip
        run_spec = RunSpec(
            project_root=str(root),
            run_args=list(run_args),
            run_dir=str(run_dir),
            job=job,
            max_duration=configuration.max_duration,
            retry=RetrySpec(on_events=list(retry.on_events), duration=retry.duration)
            if retry
            else None,
            offer=offer.to_json(plan.requirements.nodes),
            provision=provision,
        )
        # one job per node: on the instances placement chose (an SSH fleet's hosts), on the
        # nodes of the fleet created for the run, else one job the reconciler places on this
        # machine (node N's rank is added when it starts)
        jobs: list[NewJob] = []
        nodes = plan.requirements.nodes if provision is not None else 1
        for num, instance in enumerate(instances or [None] * nodes):
            job_dir = run_dir / f"job-{num}-0"
            new: NewJob = {
                "job_num": num,
                "submission_num": 0,
                "job_spec": asdict(job),
                "job_dir": str(job_dir),
                "log_path": str(job_dir / LOG_FILE),
            }
            if instance is not None:
                new["instance_id"] = instance.id
            jobs.append(new)
        return run_spec.model_dump(mode="json"), jobs

    replaced = get_run_by_name(state, name) if name else None
    # The rows hold digests; the values go to the store before the rows exist, so the
    # reconciler never finds a run whose job.env values are not kept yet.
    store = SecretStore(DEFAULT_PROJECT)
    if plan.secret_values:
        store.set_run(run_id, dict(plan.secret_values))
    try:
        run, _jobs = create_run_with_jobs(
            state,
            name=name,
            run_id=run_id,
            build=build,
            configuration_path=str(config_path.resolve()),
            configuration=configuration.model_dump(mode="json"),
            backend=offer.backend,
            region=offer.region,
            price=offer.price * plan.requirements.nodes,
            resources=offer.resources_text(),
        )
    except Exception:
        if plan.secret_values:
            store.delete_run(run_id)  # no run took them
        raise
    if replaced is not None and replaced.status.is_finished:
        # the retention rule (engine/runs/control.remove_run_files): a reused name's files go
        remove_run_files(replaced, jobs_of_run(state, replaced.id))
    return run


def _stack_offer(plan: Plan) -> Offer | None:
    """The plan's chosen offer when it is on a configured cloud with a stack program whose
    engine runs here (FleetstackError with the fix when it does not: nothing is created)."""
    from ...stacks.errors import StackError
    from ..backends.config import load_backends_config
    from ..fleets.stacks import stack_engine_for

    offer = plan.chosen_offer
    if offer is None or not offer.backend_configured:
        return None
    if not get_backend(offer.backend).supports(Capability.STACK):
        return None
    try:
        stack_engine_for(offer.backend, load_backends_config()).ensure_ready()
    except StackError as exc:
        raise FleetstackError(
            f"the run needs a fleet on {offer.backend} ({offer.instance_type}), and {exc}"
        ) from None
    return offer


def _fleet_name(state: State, run_name: str, run_id: str) -> str:
    """The run's name, or RUN-XXXXXX when a live fleet already has it."""
    fleet = get_fleet_by_name(state, run_name)
    if fleet is None or fleet.status.is_finished:
        return run_name
    return f"{run_name}-{run_id[:6]}"


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
        f"{plan.requirements.resources.pretty()} is offered on {where}, and no idle instance of "
        "a fleet fits it; a fleet is created for the run only on a configured backend "
        f"(add it to {dstack_home() / 'config.yml'}; `--dry-run` shows the stack); {instead}"
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
