"""The small interface every backend implements, and its powers declared as data.

A backend says what it offers (catalog rows matched by engine/offers), provisions and
terminates instances, and (with the next issues) runs a job on an instance. What it cannot do
is declared with a reason a plan can show; calling it raises FleetstackError with that reason.
Nothing here does I/O at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from ..errors import FleetstackError
from ..models.offers import Offer
from ..offers.rows import CatalogRow, read_rows

if TYPE_CHECKING:
    from pathlib import Path

    from .config import BackendConfig, BackendsConfig

# creds `type:` values a config.yml entry may use, unless a backend declares its own
CREDS_TYPES = frozenset({"default", "profile", "service_account", "file", "client"})
JOBS_COME_WITH_SSH = "jobs on its instances come with SSH execution (runner over SSH)"


class Capability(StrEnum):
    """An optional power; "backends that support X" is always derived from these."""

    MULTINODE = "multi-node"
    CLUSTER_PLACEMENT = "cluster placement"
    SPOT = "spot"
    PORTS = "ports"
    VOLUMES = "volumes"
    STACK = "stack"  # provisioned as a Pulumi stack (a program in stacks/)
    LOCAL_JOBS = "local jobs"  # runs jobs on this machine
    INSTANCE_DELETE = "deleting one instance"  # `dstack fleet delete NAME -i N`


@dataclass(frozen=True)
class Instance:
    """One provisioned machine of a backend."""

    backend: str
    instance_id: str
    region: str
    hostname: str | None = None
    ssh_user: str | None = None


@dataclass(frozen=True)
class TaggedInstance:
    """A cloud instance carrying fleetstack's tags (owner=fleetstack, project, fleet)."""

    instance_id: str
    region: str
    state: str
    project: str
    fleet: str
    instance_type: str = ""


@dataclass(frozen=True)
class ProvisionRequest:
    """What to provision: `nodes` machines of `offer` for the fleet `fleet` of `project`."""

    project: str
    fleet: str
    offer: Offer
    nodes: int = 1


class Backend:
    """A backend: declared data (name, capabilities, reasons) plus the few verbs below."""

    name: ClassVar[str]
    catalog_provider: ClassVar[str | None] = None  # gpuhunt provider: `<provider>.csv`
    stack_program: ClassVar[str | None] = None  # the cloud of a program in stacks/
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    reasons: ClassVar[Mapping[Capability, str]] = {}  # why a capability is missing
    creds_types: ClassVar[frozenset[str]] = CREDS_TYPES
    has_instance_types: ClassVar[bool] = True  # False: one fixed machine, `instance_types` ignored
    lists_tagged_instances: ClassVar[bool] = False  # True: tagged_instances works (orphans)
    # Parts of the cloud's error texts that mean "no capacity or quota for this offer now":
    # another offer may work (failover), and a run with retry on no-capacity may wait.
    capacity_errors: ClassVar[tuple[str, ...]] = ()

    def supports(self, capability: Capability) -> bool:
        """Whether this backend has `capability`."""
        return capability in self.capabilities

    def reason(self, capability: Capability) -> str:
        """Why this backend lacks `capability`, as a plan shows it ("" when it has it)."""
        if self.supports(capability):
            return ""
        return self.reasons.get(capability, f"does not support {capability.value}")

    def is_capacity_error(self, message: str) -> bool:
        """Whether the cloud's error `message` means no capacity or quota for the offer."""
        lowered = message.lower()
        return any(marker.lower() in lowered for marker in self.capacity_errors)

    def catalog_file(self, catalog_dir: Path) -> Path | None:
        """This backend's `<provider>.csv` in `catalog_dir`, if it has one there."""
        if self.catalog_provider is None:
            return None
        path = catalog_dir / f"{self.catalog_provider}.csv"
        return path if path.is_file() else None

    def offer_rows(self, catalog_dir: Path) -> list[CatalogRow]:
        """This backend's rows, unfiltered (the shared matcher decides), cheapest first."""
        path = self.catalog_file(catalog_dir)
        return read_rows(path, self.name) if path is not None else []

    def offers_enabled(self, config: BackendsConfig, requested: list[str] | None) -> bool:
        """Whether this backend's rows take part in matching (catalog backends: always)."""
        return True

    def to_offer(self, row: CatalogRow, configured: bool, disk_gb: float | None) -> Offer:
        """The Offer of one of this backend's rows; a row without a disk gets `disk_gb`."""
        return offer_of_row(row, configured, disk_gb)

    def provider_config(self, entry: BackendConfig | None) -> dict[str, str]:
        """Pulumi provider settings from this backend's config.yml entry (references only)."""
        return {}

    def provision(self, request: ProvisionRequest) -> list[Instance]:
        """The instances created for `request`."""
        raise self.missing("provisioning", self.reason(Capability.STACK))

    def terminate(self, instances: list[Instance]) -> None:
        """Terminate `instances`; already gone is not an error."""
        raise self.missing("termination", self.reason(Capability.STACK))

    def tagged_instances(self, entry: BackendConfig | None, project: str) -> list[TaggedInstance]:
        """Live instances tagged owner=fleetstack and project=`project`, in every region of
        the backend's config (FleetstackError when this backend cannot list them)."""
        raise self.missing("listing tagged instances", "it does not list its instances")

    def terminate_tagged(
        self, entry: BackendConfig | None, instances: list[TaggedInstance]
    ) -> None:
        """Terminate `instances` (from tagged_instances); gone already is not an error."""
        raise self.missing("terminating tagged instances", "it does not list its instances")

    def run_job(self, instance: Instance, job_id: str, script: str) -> None:
        """Start the job `job_id` running `script` on `instance`."""
        raise self.missing("running a job", JOBS_COME_WITH_SSH)

    def stop_job(self, instance: Instance, job_id: str, *, abort: bool = False) -> None:
        """Stop the job `job_id` on `instance` (SIGTERM, or SIGKILL with `abort`)."""
        raise self.missing("stopping a job", JOBS_COME_WITH_SSH)

    def job_status(self, instance: Instance, job_id: str) -> str:
        """The status of the job `job_id` on `instance` (a JobStatus value)."""
        raise self.missing("reading a job's status", JOBS_COME_WITH_SSH)

    def job_log(self, instance: Instance, job_id: str, offset: int = 0) -> tuple[bytes, int]:
        """The job's log from byte `offset`, and the offset to read from next."""
        raise self.missing("reading a job's log", JOBS_COME_WITH_SSH)

    def missing(self, what: str, reason: str) -> FleetstackError:
        """The error a verb this backend cannot perform yet raises."""
        return FleetstackError(f"backend {self.name}: {what} is not available: {reason}")


def offer_of_row(row: CatalogRow, configured: bool, disk_gb: float | None = None) -> Offer:
    """The Offer of a catalog row; a row without a fixed disk gets the disk that would be asked."""
    gpus = row.gpu_count > 0
    return Offer(
        backend=row.provider,
        region=row.location,
        instance_type=row.instance_name,
        cpus=row.cpu,
        cpu_arch=row.cpu_arch.value,
        memory_gb=row.memory,
        disk_gb=row.disk_size if row.disk_size is not None else disk_gb,
        gpu_vendor=row.gpu_vendor.value if gpus and row.gpu_vendor is not None else None,
        gpu_name=row.gpu_name if gpus else None,
        gpu_count=row.gpu_count,
        gpu_memory_gb=row.gpu_memory if gpus else None,
        spot=row.spot,
        price=row.price,
        backend_configured=configured,
    )


class CatalogBackend(Backend):
    """A gpuhunt catalog provider: its offers are shown, nothing is provisioned yet."""

    capabilities = frozenset({Capability.MULTINODE, Capability.SPOT})
    reasons = {
        Capability.STACK: "cannot be provisioned as a stack yet",
        **dict.fromkeys(
            (Capability.CLUSTER_PLACEMENT, Capability.PORTS, Capability.VOLUMES),
            "cannot be provisioned yet",
        ),
        Capability.LOCAL_JOBS: "runs no job on this machine",
        Capability.INSTANCE_DELETE: "cannot be provisioned yet",
    }

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__()
        cls.catalog_provider = cls.catalog_provider or cls.name  # gpuhunt's name is ours
