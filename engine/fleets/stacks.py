"""From a plan to a fleet's Pulumi stack: the StackSpec of an offer, its resource plan, its driver.

The engine owns the mapping (configuration + offer -> StackSpec with cloud-init user-data);
stacks/ owns the programs, the offline evaluation and the Automation API driver.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backends.base import Capability
from ..backends.registry import get_backend, names_with
from ..errors import FleetstackError

DEFAULT_PROJECT = "main"
DEFAULT_DISK_GB = 100
# Shown in a dry run's user-data when the project key has not been generated yet.
KEY_PLACEHOLDER = "ssh-ed25519 AAAA-the-project-key-is-generated-on-apply fleetstack"


@dataclass
class ResourcePlan:
    """What the fleet's stack would change, for the offer the plan would take first."""

    offer: Any
    spec: Any  # StackSpec
    diff: Any  # StackDiff
    source: str  # "preview" (compared with the stack's state) or "offline"
    reason: str | None = None  # why the plan is offline
    cheapest: Any = None  # the plan's first offer, when it has no stack program

    def __post_init__(self) -> None:
        if self.cheapest is None:
            self.cheapest = self.offer


def first_cloud_offer(plan: Any) -> Any | None:
    """The offer `dstack apply` would take first when it is a cloud one (not local)."""
    offers = plan.offers.offers
    if not offers or get_backend(offers[0].backend).supports(Capability.LOCAL_JOBS):
        return None
    return offers[0]


def stack_offer(plan: Any) -> Any | None:
    """The offer a stack is created for: the cheapest one on a cloud with a stack program.

    None when the plan runs locally (local comes first) or no offer has a stack program.
    """
    if first_cloud_offer(plan) is None:
        return None
    return next(
        (o for o in plan.offers.offers if get_backend(o.backend).supports(Capability.STACK)), None
    )


def fleet_name_of(plan: Any) -> str:
    """Fleets keep their own name; a run on a cloud gets a fleet named after the run."""
    return getattr(plan.configuration, "name", None) or plan.run_name


def stack_spec_for(
    plan: Any,
    offer: Any,
    *,
    ssh_public_key: str,
    project: str = DEFAULT_PROJECT,
    run_id: str | None = None,
    config: Any = None,
) -> Any:
    """The StackSpec of `offer` for the plan's configuration, with its cloud-init user-data."""
    from ...stacks.spec import StackSpec
    from ...templates.render import render_user_data

    backend = get_backend(offer.backend)
    if not backend.supports(Capability.STACK):
        raise FleetstackError(
            f"{offer.backend} offers {backend.reason(Capability.STACK)} (stack programs exist "
            f"for {', '.join(names_with(Capability.STACK))}): pick another backend with -b"
        )
    configuration = plan.configuration
    is_fleet = getattr(configuration, "type", None) == "fleet"
    nodes = configuration.node_count if is_fleet else getattr(configuration, "nodes", 1) or 1
    fleet = fleet_name_of(plan)
    job = _job_spec(configuration, plan.run_name, run_id or uuid.uuid4().hex, offer, is_fleet)
    user_data = render_user_data(
        job,
        ssh_public_keys=[ssh_public_key],
        gpu_vendor=offer.gpu_vendor if offer.gpu_count else None,
    )
    backend_config = config.get(offer.backend) if config is not None else None
    extra = backend_config.extra if backend_config is not None else {}
    return StackSpec(
        project=project,
        fleet=fleet,
        cloud=offer.backend,
        region=offer.region,
        instance_type=offer.instance_type,
        ssh_public_key=ssh_public_key,
        user_data=user_data,
        nodes=max(1, nodes),
        spot=offer.spot,
        max_price=plan.requirements.max_price if offer.spot else None,
        disk_gb=_disk_gb(offer, plan.requirements.resources),
        gpu_vendor=offer.gpu_vendor if offer.gpu_count else None,
        gpu_name=offer.gpu_name if offer.gpu_count else None,
        gpu_count=offer.gpu_count,
        # The instance publishes each container port as itself; the firewall opens those.
        ports=tuple(sorted({container for _, container in job.ports})),
        allowed_cidr=str(extra.get("allowed_cidr", "0.0.0.0/0")),
        placement_cluster=getattr(configuration, "placement", None) == "cluster"
        or (not is_fleet and nodes > 1),
        tags={"run": plan.run_name} if not is_fleet else {},
    )


def provider_config(offer_backend: str, config: Any) -> dict[str, str]:
    """Pulumi provider settings from the backends config (references only, never secrets)."""
    entry = config.get(offer_backend) if config is not None else None
    return get_backend(offer_backend).provider_config(entry)


def resource_plan(plan: Any, *, offline: bool, config: Any = None) -> ResourcePlan | None:
    """The resource plan of the plan's first cloud offer, or None when it runs locally.

    Offline (asked for, or without the Pulumi CLI): the program is evaluated in-process against
    an empty state. Otherwise a real `pulumi preview --diff` of the fleet's stack.
    """
    offer = stack_offer(plan)
    if offer is None:
        return None
    cheapest = plan.offers.offers[0]
    key = _public_key(create=not offline)
    spec = stack_spec_for(plan, offer, ssh_public_key=key, config=config)
    if not offline and shutil.which("pulumi"):
        from ...stacks.driver import StackDriver

        driver = StackDriver(provider_config=provider_config(offer.backend, config))
        return ResourcePlan(offer, spec, driver.preview(spec), "preview", None, cheapest)
    from ...stacks.offline import offline_plan

    reason = "--dry-run" if offline else "the pulumi CLI is not installed"
    return ResourcePlan(offer, spec, offline_plan(spec), "offline", reason, cheapest)


def _job_spec(configuration: Any, run_name: str, run_id: str, offer: Any, is_fleet: bool) -> Any:
    """The job the instance's cloud-init starts: the local backend's job, in a container."""
    from ...templates.jobspec import JobSpec, default_image
    from ...templates.render import INSTANCE_WORK_DIR
    from ..runs.jobs import job_spec, job_template

    if is_fleet:
        # A fleet's instances only get ready (runtime, key); runs bring their own jobs.
        return JobSpec(run_name=run_name, run_id=run_id, commands=[])
    nodes = getattr(configuration, "nodes", 1) or 1
    template = job_template(configuration, run_name=run_name, run_id=run_id, gpus=offer.gpu_count)
    template["image"] = template["image"] or default_image(template["python"])
    template["gpu_vendor"] = offer.gpu_vendor if offer.gpu_count else None
    # `local:container` names a port on the user's machine; on the instance each container
    # port is published as itself (the firewall opens exactly these).
    template["ports"] = [(container, container) for _, container in template["ports"]]
    env = template["env"]
    # Node addresses are known only once the instances exist; rank and IPs come with them.
    for name in ("DSTACK_NODE_RANK", "DSTACK_MASTER_NODE_IP", "DSTACK_NODES_IPS"):
        env.pop(name, None)
    env["DSTACK_NODES_NUM"] = str(nodes)
    env["DSTACK_GPUS_NUM"] = str(offer.gpu_count * nodes)
    return job_spec(template, Path(INSTANCE_WORK_DIR))


def _disk_gb(offer: Any, resources: Any) -> int:
    disk = getattr(resources, "disk", None)
    wanted = disk.size.min if disk is not None and disk.size.min is not None else None
    size = wanted or offer.disk_gb or DEFAULT_DISK_GB
    return max(int(round(size)), 8)


def _public_key(*, create: bool) -> str:
    from ..paths import dstack_home
    from ..runner.keys import project_key

    try:
        return project_key(dstack_home(), create=create).public_key
    except FleetstackError:
        return KEY_PLACEHOLDER
