"""What can be had and what is asked: offers, requirements, the list of matching offers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import JsonValue

from ..config import AnyConfiguration, FleetConfiguration, TaskConfiguration
from .resources import ResourcesSpec

DEFAULT_DISK_GB = 100  # dstack's default disk (100GB..) when nothing is asked
MIN_VOLUME_GB = 8  # the smallest boot volume a stack program creates


@dataclass(frozen=True)
class Offer:
    backend: str
    region: str
    instance_type: str
    cpus: int
    cpu_arch: str
    memory_gb: float
    disk_gb: float | None
    gpu_vendor: str | None
    gpu_name: str | None
    gpu_count: int
    gpu_memory_gb: float | None
    spot: bool
    price: float  # per node per hour, USD
    backend_configured: bool = True

    def resources_text(self) -> str:
        """One line like `8xCPU, 32GB, 1xA10G (24GB), 100.0GB (disk)`."""
        parts = [f"{self.cpus}xCPU", f"{_gb(self.memory_gb)}"]
        if self.gpu_count:
            parts.append(f"{self.gpu_count}x{self.gpu_name} ({_gb(self.gpu_memory_gb or 0)})")
        if self.disk_gb:
            parts.append(f"{_gb(self.disk_gb)} (disk)")
        return ", ".join(parts)

    def to_json(self, nodes: int = 1) -> dict[str, JsonValue]:
        """The offer as `dstack offer --json` prints it; price for `nodes` nodes."""
        return {
            "backend": self.backend,
            "region": self.region,
            "instance": self.instance_type,
            "resources": {
                "cpus": self.cpus,
                "cpu_arch": self.cpu_arch,
                "memory_gb": self.memory_gb,
                "disk_gb": self.disk_gb,
                "gpus": [
                    {
                        "vendor": self.gpu_vendor,
                        "name": self.gpu_name,
                        "memory_gb": self.gpu_memory_gb,
                    }
                ]
                * self.gpu_count,
                "description": self.resources_text(),
            },
            "spot": self.spot,
            "price": exact_price(self.price, nodes),
            "node_price": self.price,  # the catalog's figure, to the last digit
            "backend_configured": self.backend_configured,
        }


@dataclass
class Requirements:
    resources: ResourcesSpec
    backends: list[str] | None = None
    regions: list[str] | None = None
    instance_types: list[str] | None = None
    spot_policy: str | None = "on-demand"  # None only while `dstack offer` reads its flags
    max_price: float | None = None
    nodes: int = 1

    @classmethod
    def from_configuration(cls, configuration: AnyConfiguration) -> Requirements:
        """Requirements of a task/service/dev-environment/fleet (dstack's defaults applied)."""
        if isinstance(configuration, FleetConfiguration):
            nodes = configuration.nodes
            count = nodes if isinstance(nodes, int) else (nodes.min if nodes else None) or 1
        elif isinstance(configuration, TaskConfiguration):
            count = configuration.nodes or 1
        else:
            count = 1
        # dstack: on-demand unless the configuration or a profile says otherwise, fleets included
        return cls(
            resources=configuration.resources,
            backends=configuration.backends,
            regions=configuration.regions,
            instance_types=configuration.instance_types,
            spot_policy=configuration.spot_policy or "on-demand",
            max_price=configuration.max_price,
            nodes=count,
        )


@dataclass
class OfferList:
    offers: Sequence[Offer] = field(default_factory=list)  # an OfferSeq from find_offers
    total: int = 0
    empty_reason: str | None = None
    catalog_label: str = ""


def provisioned_disk_gb(size_gb: float | None) -> int:
    """The boot volume created for an offer whose instance has no fixed disk: the size asked
    (dstack's default when none), never under MIN_VOLUME_GB. Offers show it, stacks create it."""
    return max(int(round(size_gb or DEFAULT_DISK_GB)), MIN_VOLUME_GB)


def exact_price(price: float, nodes: int = 1) -> float:
    """`price` for `nodes` nodes without binary rounding noise: 0.20166 x 3 is 0.60498."""
    if nodes == 1:
        return price
    return float(Decimal(repr(price)) * nodes)


def format_price(value: float) -> str:
    """A price as dstack prints it: `$0.096`, `$2.99`, `$113.068` (at most 4 decimals)."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return f"${'0' if text == '-0' else text}"


def _gb(value: float) -> str:
    return f"{value:g}GB"
