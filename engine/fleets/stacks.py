"""From a plan to a fleet's Pulumi stack: the offer a stack is for, its StackSpec, its resource
plan, its driver settings.

The engine owns the mapping (configuration + offer -> StackSpec with cloud-init user-data);
stacks/ owns the programs, the offline evaluation and the Automation API driver. Nothing here
writes state: a crash leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ...stacks.engine import DEFAULT_ENGINE, StackEngine, engine_named
from ...stacks.errors import PulumiCLIMissing
from ...stacks.offline import offline_plan
from ...stacks.spec import StackSpec
from ..backends.base import Capability
from ..backends.config import BackendsConfig
from ..backends.registry import get_backend, names_with
from ..config import FleetConfiguration, TaskConfiguration
from ..config.fleet import FleetNodes
from ..errors import FleetstackError
from ..models.offers import Offer, provisioned_disk_gb
from ..models.plan import PassedOver, Plan, ResourcePlan
from ..models.resources import ResourcesSpec
from ..paths import dstack_home
from ..runner.keys import project_key
from ..runs.jobs import build_job, instance_placement

DEFAULT_PROJECT = "main"
DEFAULT_RUN_IDLE_SECONDS = 300  # a fleet created for a run idles 5 min unless idle_duration says
# Shown in a dry run's user-data when the project key has not been generated yet.
KEY_PLACEHOLDER = "ssh-ed25519 AAAA-the-project-key-is-generated-on-apply fleetstack"


@dataclass(frozen=True)
class OfferChoice:
    offer: Offer | None  # None: no offer, or no cloud offer has a stack program
    passed_over: list[PassedOver]
    runs_here: bool  # the offer is this machine: a local run, no stack


def run_idle_duration(configuration: object) -> int | None:
    """The idle_duration of a fleet created for a run: the run's own, 5 min when unset,
    None for `off`."""
    if "idle_duration" in getattr(configuration, "model_fields_set", set()):
        value = getattr(configuration, "idle_duration", None)
        return int(value) if isinstance(value, int) and value >= 0 else None
    return DEFAULT_RUN_IDLE_SECONDS


def min_nodes(nodes: int | FleetNodes | None) -> int:
    """A fleet configuration's nodes.min (`nodes: 2` keeps 2, as in dstack; `0..2` keeps 0)."""
    if isinstance(nodes, int):
        return nodes
    return (nodes.min or 0) if nodes is not None else 0


def choose_offer(offers: Sequence[Offer]) -> OfferChoice:
    """The offer apply takes, and the backends of cheaper offers it passed over.

    The cheapest offer when it is this machine (a local run); otherwise the cheapest one on a
    cloud with a stack program.
    """
    if not offers:
        return OfferChoice(None, [], runs_here=False)
    if get_backend(offers[0].backend).supports(Capability.LOCAL_JOBS):
        return OfferChoice(offers[0], [], runs_here=True)
    passed: list[PassedOver] = []
    for offer in offers:
        backend = get_backend(offer.backend)
        if backend.supports(Capability.STACK):
            return OfferChoice(offer, passed, runs_here=False)
        if all(p.backend != offer.backend for p in passed):
            passed.append(PassedOver(offer.backend, backend.reason(Capability.STACK)))
    return OfferChoice(None, passed, runs_here=False)


def fleet_name_of(plan: Plan) -> str:
    """Fleets keep their own name; a run on a cloud gets a fleet named after the run."""
    return plan.configuration.name or plan.run_name


def stack_spec_for(
    plan: Plan,
    offer: Offer,
    *,
    ssh_public_key: str,
    project: str = DEFAULT_PROJECT,
    run_id: str | None = None,
    config: BackendsConfig | None = None,
) -> StackSpec:
    """The StackSpec of `offer` for the plan's configuration, with its cloud-init user-data."""
    # templates/ wraps jinja2 (heavy): loaded when a stack is declared, not at import.
    from ...templates.backstop import Backstop
    from ...templates.cloud_init import render_user_data
    from ...templates.render import INSTANCE_WORK_DIR

    backend = get_backend(offer.backend)
    if not backend.supports(Capability.STACK):
        raise FleetstackError(
            f"{offer.backend} offers {backend.reason(Capability.STACK)} (stack programs exist "
            f"for {', '.join(names_with(Capability.STACK))}): pick another backend with -b"
        )
    configuration = plan.configuration
    gpu_vendor = offer.gpu_vendor if offer.gpu_count else None
    if isinstance(configuration, FleetConfiguration):
        # One id per fleet, so its user-data (and instances) stay the same across updates.
        run_id = (
            run_id or uuid.uuid5(uuid.NAMESPACE_URL, f"fleetstack:{project}/{plan.run_name}").hex
        )
        nodes = configuration.node_count
        # A fleet's instances only get ready (runtime, key); runs bring their own jobs.
        job = build_job(None, run_name=plan.run_name, run_id=run_id, gpus=0)
    else:
        run_id = run_id or uuid.uuid4().hex
        nodes = configuration.nodes if isinstance(configuration, TaskConfiguration) else 1
        placement = instance_placement(INSTANCE_WORK_DIR, nodes=nodes, gpu_vendor=gpu_vendor)
        # The run's job decides the firewall's ports; the instance itself only gets ready:
        # the job is started over SSH once the project copy is there (engine/fleets/for_run.py).
        ports = build_job(
            configuration,
            run_name=plan.run_name,
            run_id=run_id,
            gpus=offer.gpu_count,
            placement=placement,
            secret_env=plan.secret_env,
        ).ports
        job = replace(build_job(None, run_name=plan.run_name, run_id=run_id, gpus=0), ports=ports)
    user_data = render_user_data(
        job,
        ssh_public_keys=[ssh_public_key],
        gpu_vendor=gpu_vendor,
        # an instance nobody looks after powers itself off (none for `idle_duration: off`,
        # nor for a fleet whose nodes.min keeps it: the reconciler never releases those)
        backstop=Backstop.for_idle_duration(
            (None if min_nodes(configuration.nodes) else configuration.idle_duration)
            if isinstance(configuration, FleetConfiguration)
            else run_idle_duration(configuration)
        ),
    )
    backend_config = config.get(offer.backend) if config is not None else None
    extra = backend_config.extra if backend_config is not None else {}
    is_fleet = isinstance(configuration, FleetConfiguration)
    cluster = isinstance(configuration, FleetConfiguration) and configuration.placement == "cluster"
    return StackSpec(
        project=project,
        fleet=fleet_name_of(plan),
        cloud=offer.backend,
        region=offer.region,
        instance_type=offer.instance_type,
        ssh_public_key=ssh_public_key,
        user_data=user_data,
        nodes=max(1, nodes),
        spot=offer.spot,
        max_price=plan.requirements.max_price if offer.spot else None,
        disk_gb=_disk_gb(offer, plan.requirements.resources),
        gpu_vendor=gpu_vendor,
        gpu_name=offer.gpu_name if offer.gpu_count else None,
        gpu_count=offer.gpu_count,
        # The instance publishes each container port as itself; the firewall opens those.
        ports=tuple(sorted({container for _, container in job.ports})),
        allowed_cidr=str(extra.get("allowed_cidr", "0.0.0.0/0")),
        placement_cluster=cluster or (not is_fleet and nodes > 1),
        tags={"run": plan.run_name} if not is_fleet else {},
    )


def provider_config(offer_backend: str, config: BackendsConfig | None) -> dict[str, str]:
    """Pulumi provider settings from the backends config (references only, never secrets)."""
    entry = config.get(offer_backend) if config is not None else None
    return get_backend(offer_backend).provider_config(entry)


def stack_engine_for(backend: str, config: BackendsConfig | None) -> StackEngine:
    """The engine config.yml chose for the backend (`stack_engine:`, default `pulumi`), with
    the backend's provider settings."""
    entry = config.get(backend) if config is not None else None
    name = str(entry.extra.get("stack_engine", DEFAULT_ENGINE)) if entry else DEFAULT_ENGINE
    return engine_named(name, provider_config(backend, config))


def resource_plan(
    plan: Plan, *, offline: bool, config: BackendsConfig | None = None
) -> ResourcePlan | None:
    """The resource plan of the plan's chosen offer, or None when it has no stack (local).

    Offline (asked for, or with the Pulumi engine and no CLI): the program is evaluated
    in-process against an empty state. Otherwise the engine's preview (`pulumi preview --diff`).
    """
    offer = plan.chosen_offer
    if offer is None or not get_backend(offer.backend).supports(Capability.STACK):
        return None
    key = public_key(create=not offline)
    spec = stack_spec_for(plan, offer, ssh_public_key=key, config=config)
    engine = stack_engine_for(offer.backend, config)
    if not offline and engine_ready(engine):
        return ResourcePlan(offer, spec, engine.preview(spec), "preview", None)
    reason = "--dry-run" if offline else "the pulumi CLI is not installed"
    return ResourcePlan(offer, spec, offline_plan(spec), "offline", reason)


def engine_ready(engine: StackEngine) -> bool:
    """Whether the engine can run here (for Pulumi: its CLI is on PATH)."""
    try:
        engine.ensure_ready()
    except PulumiCLIMissing:
        return False
    return True


def _disk_gb(offer: Offer, resources: ResourcesSpec) -> int:
    """The disk the offer shows (find_offers gave a cloud volume its size), else the asked."""
    disk = resources.disk
    wanted = disk.size.min if disk is not None else None
    return provisioned_disk_gb(offer.disk_gb or wanted)


def public_key(*, create: bool) -> str:
    """The project's SSH public key (created when `create`), else a placeholder."""
    try:
        return project_key(dstack_home(), create=create).public_key
    except FleetstackError:
        return KEY_PLACEHOLDER
