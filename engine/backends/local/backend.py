"""The local backend: this machine, one instance, its single offer a catalog row of the host.

The row goes through the same matcher as every catalog row; only its Offer is rounded here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ...models.offers import Offer
from ...offers.rows import CatalogRow
from ..base import Backend, Capability, Instance, ProvisionRequest
from .host import HostResources, detect_host

# gpuhunt (its enums for the host's row) is imported where the row is built: it is heavy
if TYPE_CHECKING:
    from pathlib import Path

    from ..config import BackendsConfig

NAME = "local"


class LocalBackend(Backend):
    name = NAME
    has_instance_types = False
    capabilities = frozenset({Capability.PORTS, Capability.LOCAL_JOBS})
    reasons = {
        Capability.MULTINODE: "this machine is a single node",
        Capability.CLUSTER_PLACEMENT: "this machine is a single node",
        Capability.SPOT: "this machine is never a spot instance",
        Capability.VOLUMES: "volumes come with the volumes feature",
        Capability.STACK: "need no stack: they run on this machine",
        Capability.INSTANCE_DELETE: "this machine is its fleet's only instance",
    }

    def offers_enabled(self, config: BackendsConfig, requested: list[str] | None) -> bool:
        """On when asked for, configured, or when no cloud backend is configured."""
        return config.local_enabled(requested)

    def offer_rows(self, catalog_dir: Path) -> list[CatalogRow]:
        """One row: this machine as it is detected now, at $0."""
        return [host_row(detect_host())]

    def to_offer(self, row: CatalogRow, configured: bool, disk_gb: float | None) -> Offer:
        offer = super().to_offer(row, True, disk_gb)
        disk = round(row.disk_size, 1) if row.disk_size is not None else None
        return replace(offer, memory_gb=round(row.memory, 1), disk_gb=disk)

    def provision(self, request: ProvisionRequest) -> list[Instance]:
        """This machine, whatever is asked: it is the only instance local has."""
        return [Instance(backend=NAME, instance_id=NAME, region=NAME, hostname="127.0.0.1")]

    def terminate(self, instances: list[Instance]) -> None:
        """Nothing to do: this machine is never terminated."""


def host_row(host: HostResources) -> CatalogRow:
    """The catalog row of `host`: its first GPU model, counted (GPUs of other models left out)."""
    from gpuhunt import AcceleratorVendor, CPUArchitecture

    first = host.gpus[0] if host.gpus else None
    same = [g for g in host.gpus if first and g.name == first.name and g.vendor == first.vendor]
    return CatalogRow(
        provider=NAME,
        instance_name=NAME,
        location=NAME,
        price=0.0,
        cpu=host.cpus,
        memory=host.memory_gb,
        gpu_count=len(same),
        gpu_name=first.name if first else None,
        gpu_memory=first.memory_gb if first else None,
        spot=False,
        disk_size=host.disk_gb,
        gpu_vendor=AcceleratorVendor.cast(first.vendor) if first else None,
        flags=(),
        cpu_arch=CPUArchitecture.cast(host.cpu_arch),
        provider_data_json="",
    )
