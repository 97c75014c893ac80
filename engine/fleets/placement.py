"""Where a submitted job runs. For now: this machine, the local backend's one instance,
shared by resources.

    placed = place_job(state, run)       # Placement, or NoCapacity with the reason

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
from dataclasses import dataclass

from ..backends.base import Capability
from ..backends.local.host import HostResources, detect_host
from ..backends.registry import get_backend, names_with
from ..models.json import JSONObject, JSONValue
from ..models.statuses import JobStatus
from ..state import RunRecord, State, get_run, list_jobs

# A job in these statuses holds its share of the machine.
_HOLDING = [JobStatus.PROVISIONING, JobStatus.PULLING, JobStatus.RUNNING, JobStatus.TERMINATING]


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
class Placement:
    backend: str
    instance_name: str


@dataclass(frozen=True)
class NoCapacity:
    reason: str


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


def _obj(value: JSONValue | None) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _num(value: JSONValue | None, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )
