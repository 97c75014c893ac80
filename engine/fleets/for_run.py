"""A fleet created for a run: what submit decides, what the reconciler brings up.

    provision = provision_for(plan, run_name, ssh_public_key=key)   # at submit (no I/O)
    provision = provision_of(RunSpec.of(run.run_spec).provision)    # in the reconciler

At submit, the plan's chosen offer (never re-chosen later) and the failover offers after it
(engine/fleets/failover.py: same clouds with stack programs, within max_price) become the
run's `provision` (RunSpec): the fleet's name, its idle_duration, and for each offer the
StackSpec its stack is brought up with. The reconciler (engine/reconciler/provision.py)
brings the first one up that has capacity, exactly as planned.

A run's fleet is named after the run (dstack does the same), or RUN-XXXXXX when a live
fleet already has that name. Its instances only get ready at boot (docker, the project
key, the backstop): every job, the first one included, is started over SSH as on an SSH
fleet, because the job needs the project copy uploaded first, and secret values travel
over SSH only. So a job has one status, one log and one exit code wherever it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from ...stacks.offline import offline_plan
from ...stacks.spec import StackSpec, stack_spec_from_json
from ..config import FleetConfiguration, ServiceConfiguration, TaskConfiguration
from ..models.jobs import JobSpec
from ..models.json import JSONObject, JSONValue, json_object
from ..models.offers import Offer
from ..models.plan import Plan, ResourcePlan
from ..runs.jobs import JobPlacement, build_job
from .failover import failover_offers
from .stacks import run_idle_duration, stack_spec_for


@dataclass(frozen=True)
class Provision:
    """The fleet of one run, as RunSpec.provision keeps it."""

    fleet: str
    idle_duration: int | None  # seconds; None: `off`, never released for being idle
    stacks: list[tuple[Offer, StackSpec]]  # the offers to try in turn, each with its stack

    def resource_plans(self) -> list[ResourcePlan]:
        """The stacks as apply_fleet takes them (each program evaluated offline, once the
        fleet is really brought up: reading a run's provision costs no evaluation)."""
        return [
            ResourcePlan(offer, spec, offline_plan(spec), "offline", "planned at submit")
            for offer, spec in self.stacks
        ]


def fleet_job(
    configuration: TaskConfiguration | ServiceConfiguration,
    run_name: str,
    run_id: str,
    gpus: int,
    *,
    nodes: int,
    secret_env: Sequence[str] = (),
) -> JobSpec:
    """The job of a run on a fleet created for it: on instances (each container port
    published as itself), the nodes' addresses added by with_node_addresses once it is up.
    `python:` without `image:` runs in dstack's base image for that Python, as in dstack;
    with neither, the job runs on the instance itself, as on an SSH fleet's host."""
    placement = JobPlacement(
        code_dir=None,
        ports_as_container=True,
        node_addresses_known=False,
        nodes=nodes,
        default_image=configuration.python is not None,
    )
    return build_job(configuration, run_name=run_name, run_id=run_id, gpus=gpus,
                     placement=placement, secret_env=secret_env)  # fmt: skip


def provision_for(plan: Plan, fleet: str, *, ssh_public_key: str) -> JSONObject:
    """RunSpec.provision of a run whose plan chose a stack cloud's offer."""
    if isinstance(plan.configuration, FleetConfiguration):
        raise ValueError("a fleet configuration is applied, not provisioned for a run")
    chosen = plan.chosen_offer
    if chosen is None:
        raise ValueError("the plan has no chosen offer")
    attempts: list[JSONValue] = []
    for offer in failover_offers(plan, chosen):
        spec = replace(stack_spec_for(plan, offer, ssh_public_key=ssh_public_key), fleet=fleet)
        attempts.append({"offer": offer_to_json(offer), "stack": json_object(asdict(spec))})
    return {
        "fleet": fleet,
        "idle_duration": run_idle_duration(plan.configuration),
        "attempts": attempts,
    }


def provision_of(stored: JSONObject | None) -> Provision | None:
    """The Provision of a RunSpec.provision value (None for a run without one)."""
    if not isinstance(stored, dict) or not isinstance(stored.get("fleet"), str):
        return None
    stacks = []
    listed = stored.get("attempts")
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        offer, stack = item.get("offer"), item.get("stack")
        if isinstance(offer, dict) and isinstance(stack, dict):
            stacks.append((offer_from_json(offer), stack_spec_from_json(dict(stack))))
    idle = stored.get("idle_duration")
    return Provision(
        fleet=str(stored["fleet"]),
        idle_duration=int(idle) if isinstance(idle, int | float) else None,
        stacks=stacks,
    )


def offer_to_json(offer: Offer) -> JSONObject:
    """Every field of the offer, exactly (Offer.to_json rounds the price for display)."""
    return json_object(asdict(offer))


def offer_from_json(data: JSONObject) -> Offer:
    def number(key: str) -> float:
        value = data.get(key)
        return float(value) if isinstance(value, int | float) else 0.0

    def text(key: str) -> str | None:
        value = data.get(key)
        return str(value) if value is not None else None

    disk = data.get("disk_gb")
    gpu_memory = data.get("gpu_memory_gb")
    return Offer(
        backend=str(data.get("backend", "")),
        region=str(data.get("region", "")),
        instance_type=str(data.get("instance_type", "")),
        cpus=int(number("cpus")),
        cpu_arch=str(data.get("cpu_arch") or "x86"),
        memory_gb=number("memory_gb"),
        disk_gb=float(disk) if isinstance(disk, int | float) else None,
        gpu_vendor=text("gpu_vendor"),
        gpu_name=text("gpu_name"),
        gpu_count=int(number("gpu_count")),
        gpu_memory_gb=float(gpu_memory) if isinstance(gpu_memory, int | float) else None,
        spot=bool(data.get("spot")),
        price=number("price"),
    )
