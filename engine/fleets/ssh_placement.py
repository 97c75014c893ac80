"""Which registered instances a run takes, until issue 14's placement replaces this module.

    instances = pick_instances(state, configuration, nodes=2)   # [] -> the plan's offer

One function decides: with `fleets: [NAME...]` the run must go to idle instances of those
fleets (a FleetstackError says why none fits); without it, an idle SSH host that fits is
taken before the plan's offer, since it costs nothing (cloud instances are issue 14's). An
instance is idle when its row says so and no unfinished job has it. A multi-node run takes
its nodes from one fleet.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import ServiceConfiguration, TaskConfiguration
from ..errors import FleetstackError
from ..models.jobs import JobSpec
from ..models.json import JSONObject
from ..models.offers import Offer
from ..models.resources import ResourcesSpec
from ..models.statuses import InstanceStatus, JobStatus
from ..remote.start import is_remote
from ..runs.jobs import JobPlacement, build_job
from ..state import (
    InstanceRecord,
    State,
    get_fleet_by_name,
    list_fleets,
    list_instances,
    list_jobs,
)
from .ssh import BACKEND as SSH_BACKEND


def pick_instances(
    state: State, configuration: TaskConfiguration | ServiceConfiguration, *, nodes: int
) -> list[InstanceRecord]:
    """`nodes` idle instances of one fleet for the run, [] when it goes to the plan's offer."""
    named = [ref.name for ref in configuration.fleets or []]
    if named:
        fleet_ids = []
        for name in named:
            fleet = get_fleet_by_name(state, name)
            if fleet is None or fleet.status.is_finished:
                raise FleetstackError(f"fleets: {name}: no such fleet; `dstack fleet` lists fleets")
            fleet_ids.append(fleet.id)
    else:
        fleet_ids = [f.id for f in list_fleets(state)]
    busy = {
        job.instance_id
        for job in list_jobs(state, statuses=[s for s in JobStatus if not s.is_finished])
        if job.instance_id
    }
    free = [
        i
        for i in list_instances(state, statuses=[InstanceStatus.IDLE, InstanceStatus.BUSY])
        if i.fleet_id in fleet_ids and i.id not in busy and is_remote(i) and i.hostname
    ]
    if not named:  # unasked, only what costs nothing extra: SSH hosts (price 0)
        free = [i for i in free if i.backend == SSH_BACKEND and not i.price]
    # a cloud instance records no resources: its fleet was created for a fitting offer
    fitting = [i for i in free if not i.resources or fits(i.resources, configuration.resources)]
    for fleet_id in fleet_ids:
        members = sorted((i for i in fitting if i.fleet_id == fleet_id), key=_cost)
        if len(members) >= nodes:
            return members[:nodes]
    if named:
        raise FleetstackError(
            f"fleets: {', '.join(named)}: no {nodes} idle instance(s) there fit "
            f"{configuration.resources.pretty()} ({len(free)} idle, {len(fitting)} fit)"
        )
    return []


def instance_offer(instance: InstanceRecord) -> Offer:
    """The offer an instance is: its backend, its resources, its price (0 for SSH hosts)."""
    res = instance.resources or {}
    gpus = res.get("gpus")
    first = gpus[0] if isinstance(gpus, list) and gpus and isinstance(gpus[0], dict) else {}
    gpu_memory = first.get("memory_gb")
    return Offer(
        backend=instance.backend,
        region=instance.region or "",
        instance_type=instance.instance_type or instance.name,
        cpus=int(_number(res.get("cpus"))),
        cpu_arch=str(res.get("cpu_arch") or "x86"),
        memory_gb=_number(res.get("memory_gb")),
        disk_gb=_number(res.get("disk_gb")) or None,
        gpu_vendor=str(first["vendor"]) if first.get("vendor") else None,
        gpu_name=str(first["name"]) if first.get("name") else None,
        gpu_count=len(gpus) if isinstance(gpus, list) else 0,
        gpu_memory_gb=_number(gpu_memory) if gpu_memory is not None else None,
        spot=instance.spot,
        price=instance.price or 0.0,
    )


def cluster_job(
    configuration: TaskConfiguration | ServiceConfiguration,
    run_name: str,
    run_id: str,
    gpus: int,
    instances: list[InstanceRecord],
    *,
    secret_env: Sequence[str] = (),
) -> JobSpec:
    """The run's job; on instances, with the nodes' addresses (DSTACK_MASTER_NODE_IP, the
    first node's internal IP, and DSTACK_NODES_IPS, one per line); the starter adds the rank."""
    if not instances:
        return build_job(
            configuration, run_name=run_name, run_id=run_id, gpus=gpus, secret_env=secret_env
        )
    placement = JobPlacement(
        code_dir=None, ports_as_container=True, node_addresses_known=True, nodes=len(instances)
    )
    job = build_job(
        configuration,
        run_name=run_name,
        run_id=run_id,
        gpus=gpus,
        placement=placement,
        secret_env=secret_env,
    )
    ips = [i.internal_ip or i.hostname or "" for i in instances]
    job.env.update({"DSTACK_MASTER_NODE_IP": ips[0], "DSTACK_NODES_IPS": "\n".join(ips)})
    return job


def fits(resources: JSONObject, spec: ResourcesSpec) -> bool:
    """The instance's resources JSON (cpus, cpu_arch, memory_gb, disk_gb, gpus) meets `spec`."""
    cpus = _number(resources.get("cpus"))
    memory = _number(resources.get("memory_gb"))
    disk = _number(resources.get("disk_gb"))
    gpus = resources.get("gpus")
    gpu_count = len(gpus) if isinstance(gpus, list) else 0
    if spec.cpu.arch is not None and resources.get("cpu_arch") != spec.cpu.arch:
        return False
    checks = [(cpus, spec.cpu.count), (memory, spec.memory), (gpu_count, spec.gpu.count)]
    if spec.disk is not None:
        checks.append((disk, spec.disk.size))
    return all(
        (rng.min is None or value >= rng.min) and (rng.max is None or value <= rng.max)
        for value, rng in checks
    )


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _cost(instance: InstanceRecord) -> tuple[float, int]:
    return (instance.price or 0.0, instance.instance_num)
