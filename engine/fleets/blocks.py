"""Blocks (dstack's `blocks`): an instance split into N equal shares so jobs share it.

    total = total_blocks(instance)               # 1 without `blocks`: one job at a time
    held = holdings(state, [instance])[instance.id]
    job = assign_blocks(state, instance, job)    # at start: the job's block indices
    spec = block_job(spec, job, instance)        # CUDA_VISIBLE_DEVICES: its GPUs only

`blocks: N` (an SSH host's, or the fleet's for every instance) splits an instance's GPUs,
CPUs and memory into N equal blocks; its disk is shared. `blocks: auto` is one block per
GPU (1 without GPUs). An instance whose GPUs do not divide into N equal parts, or with
fewer CPUs than N, stays one block. A job takes the fewest blocks that hold its run's
minimum resources; jobs share the instance while their blocks fit.

Where it is kept (no schema change): the instance's `backend_data` holds the `blocks` value
the fleet was applied with (and, for a cloud instance, the `offer_resources` it was created
for); a started job's `job_spec` JSON holds `blocks`, the indices of the blocks it holds.
A job on the instance with no indices yet (submitted, not started) holds the count its
run's minimums need; a job with no run to read holds every block. Block b of N holds GPUs
b*G/N .. (b+1)*G/N - 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..errors import FleetstackError
from ..models.jobs import JobSpec
from ..models.json import JSONObject, JSONValue
from ..models.statuses import JobStatus
from ..state import InstanceRecord, JobRecord, RunRecord, State, get_run, list_jobs, update_job

BLOCKS_KEY = "blocks"  # in backend_data: the configured value; in job_spec: the indices held
OFFER_RESOURCES_KEY = "offer_resources"  # in a cloud instance's backend_data
BLOCKS_BUSY_KEY = "blocks_busy"  # in backend_data: how many of its blocks jobs hold
_VISIBLE = {"nvidia": "CUDA_VISIBLE_DEVICES", "amd": "HIP_VISIBLE_DEVICES"}


@dataclass(frozen=True)
class Request:
    """What one job takes of an instance: the minimums its run asks for."""

    cpus: int
    memory_gb: float
    gpus: int

    def text(self) -> str:
        gpus = f", {self.gpus} GPU" if self.gpus else ""
        return f"{self.cpus} CPU, {self.memory_gb:g}GB{gpus}"


@dataclass(frozen=True)
class Holding:
    """One unfinished job's blocks on an instance (indices empty until it starts)."""

    job_id: str
    count: int
    indices: tuple[int, ...]


def requested(configuration: JSONObject | None) -> Request:
    """The minimums of a configuration's `resources` (dstack's defaults when absent)."""
    resources = _obj(_obj(configuration).get("resources"))
    cpu = _obj(_obj(resources.get("cpu")).get("count"))
    gpu = _obj(_obj(resources.get("gpu")).get("count"))
    memory = _obj(resources.get("memory"))
    return Request(
        cpus=int(_num(cpu.get("min"), 2)),
        memory_gb=float(_num(memory.get("min"), 8)),
        gpus=int(_num(gpu.get("min"), 0)),
    )


def instance_resources(instance: InstanceRecord) -> JSONObject:
    """The resources JSON of an instance: an SSH host's detected ones, else the offer a cloud
    instance was created for ({} when neither is known)."""
    if instance.resources:
        return instance.resources
    return _obj((instance.backend_data or {}).get(OFFER_RESOURCES_KEY))


def total_blocks(instance: InstanceRecord) -> int:
    """How many blocks the instance is split into (1: not split)."""
    configured = (instance.backend_data or {}).get(BLOCKS_KEY)
    resources = instance_resources(instance)
    gpus = _gpu_count(resources)
    if configured == "auto":
        wanted = gpus or 1
    elif isinstance(configured, int) and not isinstance(configured, bool) and configured > 1:
        wanted = configured
    else:
        return 1
    if (gpus and gpus % wanted) or int(_num(resources.get("cpus"), 0)) < wanted:
        return 1
    return wanted


def share(resources: JSONObject, total: int, count: int) -> JSONObject:
    """The resources JSON of `count` of the instance's `total` blocks (disk shared)."""
    gpus = resources.get("gpus")
    listed = gpus if isinstance(gpus, list) else []
    return {
        **resources,
        "cpus": int(_num(resources.get("cpus"), 0)) // total * count,
        "memory_gb": _num(resources.get("memory_gb"), 0) / total * count,
        "gpus": listed[: len(listed) // total * count],
    }


def blocks_for(instance: InstanceRecord, wanted: Request) -> int | None:
    """The fewest blocks of the instance that hold `wanted` (None: not even all of them)."""
    resources, total = instance_resources(instance), total_blocks(instance)
    for count in range(1, total + 1):
        part = share(resources, total, count)
        if (
            int(_num(part.get("cpus"), 0)) >= wanted.cpus
            and _num(part.get("memory_gb"), 0) >= wanted.memory_gb
            and _gpu_count(part) >= wanted.gpus
        ):
            return count
    return None


def holdings(state: State, instances: Sequence[InstanceRecord]) -> dict[str, list[Holding]]:
    """The unfinished jobs' blocks on each of `instances` (by instance id)."""
    by_id = {i.id: i for i in instances}
    found: dict[str, list[Holding]] = {i.id: [] for i in instances}
    runs: dict[str, RunRecord | None] = {}
    unfinished = [s for s in JobStatus if not s.is_finished]
    for job in list_jobs(state, statuses=unfinished):
        instance = by_id.get(job.instance_id or "")
        if instance is None:
            continue
        found[instance.id].append(_holding(state, instance, job, runs))
    return found


def held_count(held: Sequence[Holding]) -> int:
    return sum(h.count for h in held)


def is_occupied(instance: InstanceRecord) -> bool:
    """A job has the instance (busy), or holds some of its blocks (as the reconciler's last
    pass recorded: BLOCKS_BUSY_KEY)."""
    blocks = (instance.backend_data or {}).get(BLOCKS_BUSY_KEY)
    return instance.busy_job_id is not None or (isinstance(blocks, int) and blocks > 0)


def occupied_instances(state: State) -> set[str]:
    """Ids of the instances an unfinished job is on."""
    unfinished = [s for s in JobStatus if not s.is_finished]
    return {j.instance_id for j in list_jobs(state, statuses=unfinished) if j.instance_id}


def assign_blocks(state: State, instance: InstanceRecord, job: JobRecord) -> JobRecord:
    """The job with the indices of the blocks it holds in its job_spec (kept when it already
    holds free ones, e.g. a retry on the same instance); unchanged on an unsplit instance.
    FleetstackError when the instance has not enough free blocks left."""
    total = total_blocks(instance)
    if total == 1:
        return job
    others = [h for h in holdings(state, [instance])[instance.id] if h.job_id != job.id]
    taken = {index for h in others for index in h.indices}
    count = _holding(state, instance, job, {}).count
    mine = _indices(job)
    if len(mine) == count and not taken & set(mine):
        return job
    free = [b for b in range(total) if b not in taken]
    if len(free) < count:
        raise FleetstackError(
            f"instance {instance.name} has {len(free)} of {total} blocks free; the job needs "
            f"{count}"
        )
    held: list[JSONValue] = [*free[:count]]
    spec: JSONObject = {**(job.job_spec or {}), BLOCKS_KEY: held}
    return update_job(state, job.id, job_spec=spec)


def block_job(spec: JobSpec, job: JobRecord, instance: InstanceRecord) -> JobSpec:
    """The job as it runs on its blocks: it sees only their GPUs (CUDA_VISIBLE_DEVICES, or
    HIP_VISIBLE_DEVICES on AMD, and their count); unchanged on an unsplit instance."""
    total, indices = total_blocks(instance), _indices(job)
    gpus = instance_resources(instance).get("gpus")
    listed = gpus if isinstance(gpus, list) else []
    if total == 1 or not indices or not listed:
        return spec
    per_block = len(listed) // total
    devices = [b * per_block + g for b in indices for g in range(per_block)]
    first = _obj(listed[0])
    vendor = str(first.get("vendor") or spec.gpu_vendor or "nvidia")
    name = _VISIBLE.get(vendor, _VISIBLE["nvidia"])
    env = {**spec.env, name: ",".join(str(d) for d in devices)}
    return replace(spec, env=env, gpus=len(devices))


def _holding(
    state: State, instance: InstanceRecord, job: JobRecord, runs: dict[str, RunRecord | None]
) -> Holding:
    total = total_blocks(instance)
    indices = _indices(job)
    if total == 1 or indices:
        return Holding(job.id, len(indices) or 1, indices)
    if job.run_id not in runs:
        runs[job.run_id] = get_run(state, job.run_id)
    run = runs[job.run_id]
    count = blocks_for(instance, requested(run.configuration)) if run is not None else None
    return Holding(job.id, count or total, ())


def _indices(job: JobRecord) -> tuple[int, ...]:
    held = (job.job_spec or {}).get(BLOCKS_KEY)
    if not isinstance(held, list):
        return ()
    return tuple(b for b in held if isinstance(b, int) and not isinstance(b, bool))


def _gpu_count(resources: JSONObject) -> int:
    gpus = resources.get("gpus")
    return len(gpus) if isinstance(gpus, list) else 0


def _obj(value: JSONValue | None) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _num(value: JSONValue | None, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )
