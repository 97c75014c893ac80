"""Where a run goes: ONE decision, made at submit and shown by the plan.

    instances = pick_instances(state, configuration, nodes=2, offers=plan.offers.offers)
    placed = place_job(state, run)       # on this machine: Placement, or NoCapacity

pick_instances chooses among the idle instances of every live fleet (SSH hosts, cloud
instances of `type: fleet` fleets or of fleets created for earlier runs): with `fleets:
[NAME...]` only those fleets, with `instances:` only the instances it selects. An instance
runs one job at a time unless `blocks` splits it (engine/fleets/blocks.py: jobs share it
while their blocks fit). An SSH host fits by its recorded
resources; a cloud instance fits when its machine (backend, instance type, region) is one
of the run's offers, so backends, regions, spot, max_price and resources all hold. The
cheapest fitting fleet wins; a multi-node run takes its nodes from one fleet. With nothing
idle that fits: `creation_policy: reuse` (or `-R`) fails naming the closest fleet and why
it does not fit; otherwise [] sends the run to the plan's chosen offer (this machine, or a
stack cloud).

place_job is this machine's share: the local backend's one instance, shared by resources.

The local machine is one instance with this machine's CPUs, memory and GPUs. A job takes
the minimums its run asks for (`resources: cpu: 2.., memory: 8GB.., gpu: 1..`); the CPUs,
memory and GPUs of jobs that have started and not ended count as taken. A job that does
not fit now is told which runs hold the machine (NoCapacity): the lifecycle then retries it
(`retry: on_events: [no-capacity]`) or fails the run with that reason.

Reading only: the caller holds the job's claim, so two placements of one job never race;
two reconcilers placing different jobs on one machine at the same instant is the one
window left (a single server per database closes it: engine/reconciler/daemon.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from ..backends.base import Capability
from ..backends.local.host import HostResources, detect_host
from ..backends.registry import get_backend, names_with
from ..config import ServiceConfiguration, TaskConfiguration
from ..errors import FleetstackError
from ..models.jobs import JobSpec
from ..models.json import JSONObject
from ..models.offers import Offer
from ..models.plan import Plan
from ..models.resources import ResourcesSpec
from ..models.statuses import InstanceStatus, JobStatus
from ..remote.start import is_remote
from ..runs.jobs import JobPlacement, build_job, with_node_addresses
from ..state import (
    FleetRecord,
    InstanceRecord,
    RunRecord,
    State,
    get_fleet_by_name,
    get_run,
    list_fleets,
    list_instances,
    list_jobs,
)
from .blocks import (
    Holding,
    Request,
    blocks_for,
    held_count,
    holdings,
    instance_resources,
    requested,
    share,
    total_blocks,
)

# A job in these statuses holds its share of the machine.
_HOLDING = [JobStatus.PROVISIONING, JobStatus.PULLING, JobStatus.RUNNING, JobStatus.TERMINATING]


@dataclass(frozen=True)
class Placement:
    backend: str
    instance_name: str


@dataclass(frozen=True)
class NoCapacity:
    reason: str


RunConfiguration = TaskConfiguration | ServiceConfiguration


def pick_instances(
    state: State | None,
    configuration: RunConfiguration,
    *,
    nodes: int,
    offers: Sequence[Offer] = (),
    where: str = "",
    creates: bool = True,
) -> list[InstanceRecord]:
    """`nodes` idle instances of one live fleet for the run; [] when the run goes to the
    plan's chosen offer. FleetstackError (prefixed with `where`, the file) when `fleets:`,
    `instances:` or `creation_policy: reuse` leave nothing the run may take (`creates`:
    the chosen offer would provision; this machine's offer provisions nothing). A None
    `state` is a database that does not exist yet: no fleet at all."""
    named = [ref.name for ref in configuration.fleets or []]
    fleets = _live_fleets(state, named, where)
    ids = {f.id for f in fleets}
    live: list[InstanceRecord] = []
    held: dict[str, list[Holding]] = {}
    if state is not None and fleets:
        live = [
            i
            for i in list_instances(state, statuses=[InstanceStatus.IDLE, InstanceStatus.BUSY])
            if i.fleet_id in ids and is_remote(i) and (i.hostname or i.internal_ip)
        ]
        held = holdings(state, live)
    wanted = requested(configuration.model_dump(mode="json"))
    selected = [i for i in live if _selected(i, configuration, fleets)]
    idle = [i for i in selected if _free_for(i, held.get(i.id, []), wanted)]
    machines = {(o.backend, o.instance_type, o.region) for o in offers}
    fitting = [
        i for i in idle if _fits_run(i, configuration.resources, machines, bool(named), wanted)
    ]
    groups = [sorted((i for i in fitting if i.fleet_id == f.id), key=_cost) for f in fleets]
    enough = [members[:nodes] for members in groups if len(members) >= nodes]
    if enough:  # the fleet whose nodes cost least
        return min(enough, key=lambda members: sum(_cost(i)[0] for i in members))
    reuse = configuration.creation_policy == "reuse" and creates
    if named or reuse or configuration.instances:
        why = "creation_policy: reuse" if reuse else "fleets:" if named else "instances:"
        raise FleetstackError(
            f"{where}{why} no {nodes} idle instance(s) fit {configuration.resources.pretty()}"
            f"{_closest(fleets, live, selected, idle, fitting, nodes)}"
        )
    return []


def place_run(state: State | None, plan: Plan) -> list[InstanceRecord]:
    """pick_instances for a planned run: its offers, its file, whether its chosen offer
    provisions (this machine's does not)."""
    configuration = plan.configuration
    assert isinstance(configuration, TaskConfiguration | ServiceConfiguration)
    chosen = plan.chosen_offer
    return pick_instances(
        state,
        configuration,
        nodes=configuration.nodes if isinstance(configuration, TaskConfiguration) else 1,
        offers=plan.offers.offers,
        where=f"{plan.configuration_path}: ",
        creates=chosen is None or not get_backend(chosen.backend).supports(Capability.LOCAL_JOBS),
    )


def _live_fleets(state: State | None, named: list[str], where: str) -> list[FleetRecord]:
    if not named:
        return [f for f in list_fleets(state) if not f.status.is_finished] if state else []
    found = []
    for name in named:
        fleet = get_fleet_by_name(state, name) if state is not None else None
        if fleet is None or fleet.status.is_finished:
            raise FleetstackError(
                f"{where}fleets: {name}: no such fleet; `dstack fleet` lists fleets"
            )
        found.append(fleet)
    return found


def _selected(
    instance: InstanceRecord, configuration: RunConfiguration, fleets: list[FleetRecord]
) -> bool:
    """The instance is one `instances:` names (every instance when it is not set)."""
    if not configuration.instances:
        return True
    fleet_name = {f.id: f.name for f in fleets}.get(instance.fleet_id)
    for sel in configuration.instances:
        if sel.name is not None and sel.name != instance.name:
            continue
        if sel.hostname is not None and sel.hostname not in (
            instance.hostname,
            instance.internal_ip,
        ):
            continue
        if sel.fleet is not None and sel.fleet.name != fleet_name:
            continue
        if sel.instance is not None and sel.instance != instance.instance_num:
            continue
        return True
    return False


def placement_text(instances: Sequence[InstanceRecord], configuration: RunConfiguration) -> str:
    """The plan's Placement row for instances pick_instances chose: "idle instance(s) a, b
    (reused)", or with blocks "instance a (2 of 4 blocks)"."""
    wanted = requested(configuration.model_dump(mode="json"))
    names = []
    for instance in instances:
        total = total_blocks(instance)
        blocks = f" ({blocks_for(instance, wanted)} of {total} blocks)" if total > 1 else ""
        names.append(instance.name + blocks)
    if any(total_blocks(i) > 1 for i in instances):
        return f"instance{'s' if len(names) > 1 else ''} {', '.join(names)}"
    return f"idle instance(s) {', '.join(names)} (reused)"


def _free_for(instance: InstanceRecord, held: list[Holding], wanted: Request) -> bool:
    """The instance has room for one more job: no job at all, or (split into blocks) enough
    free blocks for `wanted`."""
    total = total_blocks(instance)
    if total == 1:
        return not held
    needed = blocks_for(instance, wanted)
    return needed is not None and needed <= total - held_count(held)


def _fits_run(
    instance: InstanceRecord,
    spec: ResourcesSpec,
    machines: set[tuple[str, str, str]],
    named: bool,
    wanted: Request,
) -> bool:
    """An SSH host by its resources; a cloud instance when its machine is one of the run's
    offers (or, in a fleet the run names, whatever it is: it was created for a fitting offer);
    an instance split into blocks by the share the job would take (a cloud one, on a backend
    of the run's offers: its whole machine is bigger than the offers for the share)."""
    total = total_blocks(instance)
    needed = blocks_for(instance, wanted) if total > 1 else None
    if needed is not None:
        backends = {backend for backend, _, _ in machines}
        on_backend = bool(instance.resources) or named or instance.backend in backends
        return on_backend and fits(share(instance_resources(instance), total, needed), spec)
    if instance.resources:
        return fits(instance.resources, spec)
    machine = (instance.backend, instance.instance_type or "", instance.region or "")
    return machine in machines or named


def _closest(
    fleets: list[FleetRecord],
    live: list[InstanceRecord],
    selected: list[InstanceRecord],
    idle: list[InstanceRecord],
    fitting: list[InstanceRecord],
    nodes: int,
) -> str:
    """ "; closest: fleet X (why it does not fit)", from the fleet that got furthest."""
    if not fleets:
        return "; there is no fleet (`dstack fleet` lists fleets; `type: fleet` creates one)"

    def stage(fleet: FleetRecord) -> tuple[int, str]:
        def mine(rows: list[InstanceRecord]) -> int:
            return sum(1 for i in rows if i.fleet_id == fleet.id)

        if mine(fitting):
            return 4, f"{mine(fitting)} idle instance(s) fit, {nodes} needed"
        if mine(idle):
            return 3, f"its {mine(idle)} idle instance(s) do not match the run's offers"
        if mine(selected):
            return 2, f"its {mine(selected)} instance(s) are busy"
        if mine(live):
            return 1, "`instances:` selects none of its instances"
        return 0, "it has no live instance"

    best = max(fleets, key=lambda f: stage(f)[0])
    return f"; closest: fleet {best.name} ({stage(best)[1]})"


def place_job(
    state: State, run: RunRecord, *, host: HostResources | None = None
) -> Placement | NoCapacity:
    """The instance `run`'s next job goes to, or why none can take it now."""
    if not _on_this_machine(run):
        return NoCapacity(f"backend {run.backend} cannot run jobs yet: use `-b local`")
    host = host or this_machine()
    wanted = requested(run.configuration)
    holders = _local_holders(state, exclude_run=run.id)
    taken = Request(
        cpus=sum(r.cpus for _, r in holders),
        memory_gb=sum(r.memory_gb for _, r in holders),
        gpus=sum(r.gpus for _, r in holders),
    )
    short = _shortfall(wanted, taken, host)
    if short is None:
        backend = run.backend or names_with(Capability.LOCAL_JOBS)[0]
        return Placement(backend=backend, instance_name=backend)
    names = ", ".join(dict.fromkeys(name for name, _ in holders))
    held = f"; held by {names}" if names else ""
    return NoCapacity(f"no capacity on this machine: {run.name} needs {short}{held}")


@functools.cache
def this_machine() -> HostResources:
    """This machine's resources, detected once per process (nvidia-smi is slow)."""
    return detect_host()


def _local_holders(state: State, *, exclude_run: str) -> list[tuple[str, Request]]:
    """(run name, its share) of every local job that has started and not ended."""
    holders: list[tuple[str, Request]] = []
    runs: dict[str, RunRecord | None] = {}
    started = list_jobs(state, statuses=_HOLDING)
    started += [
        j for j in list_jobs(state, statuses=[JobStatus.SUBMITTED]) if j.supervisor_pid is not None
    ]
    for job in started:
        if job.run_id == exclude_run:
            continue
        if job.run_id not in runs:
            runs[job.run_id] = get_run(state, job.run_id)
        run = runs[job.run_id]
        if run is None or not _on_this_machine(run):
            continue
        holders.append((run.name, requested(run.configuration)))
    return holders


def _on_this_machine(run: RunRecord) -> bool:
    """The run's jobs run here (its backend runs local jobs)."""
    return run.backend is None or get_backend(run.backend).supports(Capability.LOCAL_JOBS)


def _shortfall(wanted: Request, taken: Request, host: HostResources) -> str | None:
    """What is missing for `wanted` beside `taken` on `host` ("2 CPU (0 of 2 free)"), or None."""
    missing = []
    if wanted.cpus > host.cpus - taken.cpus:
        missing.append(f"{wanted.cpus} CPU ({max(0, host.cpus - taken.cpus)} of {host.cpus} free)")
    free_memory = host.memory_gb - taken.memory_gb
    if wanted.memory_gb > free_memory:
        missing.append(
            f"{wanted.memory_gb:g}GB memory ({max(0.0, free_memory):.1f}GB of "
            f"{host.memory_gb:.1f}GB free)"
        )
    if wanted.gpus > len(host.gpus) - taken.gpus:
        missing.append(f"{wanted.gpus} GPU ({max(0, len(host.gpus) - taken.gpus)} free)")
    return ", ".join(missing) or None


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
    return with_node_addresses(job, node_addresses(instances))


def node_addresses(instances: Sequence[InstanceRecord]) -> list[str]:
    """Each node's address as the others reach it: its internal IP, else its hostname."""
    return [i.internal_ip or i.hostname or "" for i in instances]


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
