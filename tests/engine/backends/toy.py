"""A backend defined outside the engine: two imaginary machines, nothing provisioned."""

from __future__ import annotations

from pathlib import Path

from fleetstack.engine.backends.base import Backend, Capability
from fleetstack.engine.offers.rows import CatalogRow
from gpuhunt import AcceleratorVendor, CPUArchitecture

NOT_REAL = "toy machines are imaginary: nothing to provision"


class ToyBackend(Backend):
    name = "toy"
    capabilities = frozenset({Capability.MULTINODE})
    reasons = {Capability.STACK: NOT_REAL}

    def offer_rows(self, catalog_dir: Path) -> list[CatalogRow]:
        return [_row("toy.small", 0.011, cpu=2, memory=8.0), _row("toy.a10", 0.052, 8, 32.0, 1)]


def _row(name: str, price: float, cpu: int, memory: float, gpus: int = 0) -> CatalogRow:
    return CatalogRow(
        provider=ToyBackend.name,
        instance_name=name,
        location="toyland",
        price=price,
        cpu=cpu,
        memory=memory,
        gpu_count=gpus,
        gpu_name="A10" if gpus else None,
        gpu_memory=24.0 if gpus else None,
        spot=False,
        disk_size=200.0,
        gpu_vendor=AcceleratorVendor.NVIDIA if gpus else None,
        flags=(),
        cpu_arch=CPUArchitecture.X86,
        provider_data_json="",
    )
