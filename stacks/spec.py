"""The typed input of every stack program: one fleet on one cloud, derived from an offer."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StackSpec:
    """What a fleet's stack declares: N identical nodes of one instance type in one region."""

    project: str
    fleet: str
    cloud: str  # a program module of stacks/ (programs.py refuses others)
    region: str
    instance_type: str
    ssh_public_key: str
    user_data: str
    nodes: int = 1
    zone: str | None = None
    spot: bool = False
    max_price: float | None = None
    disk_gb: int = 100
    gpu_vendor: str | None = None
    gpu_name: str | None = None
    gpu_count: int = 0
    ports: tuple[int, ...] = ()
    allowed_cidr: str = "0.0.0.0/0"
    placement_cluster: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def stack_name(self) -> str:
        """A Pulumi-safe stack name from project and fleet (`main-my-fleet`)."""
        return f"{_slug(self.project)}-{_slug(self.fleet)}"

    @property
    def resource_prefix(self) -> str:
        """A short prefix for cloud resource names, unique per stack and valid on every cloud."""
        digest = hashlib.sha256(self.stack_name.encode()).hexdigest()[:6]
        return f"fs-{_slug(self.fleet)[:30]}-{digest}"

    @property
    def all_tags(self) -> dict[str, str]:
        """Tags every resource carries: owner, project and fleet, plus the user's own."""
        return {"owner": "fleetstack", "project": self.project, "fleet": self.fleet, **self.tags}


def stack_spec_from_json(stored: Mapping[str, object]) -> StackSpec:
    """The StackSpec of `dataclasses.asdict(spec)` after a JSON round trip (ports come back
    as a list, tags as a dict of strings). Raises TypeError for a field it does not know."""
    fields = {k: v for k, v in stored.items() if k not in ("ports", "tags")}
    ports = stored.get("ports")
    tags = stored.get("tags")
    return StackSpec(
        **fields,  # type: ignore[arg-type]
        ports=tuple(int(p) for p in ports if isinstance(p, int)) if isinstance(ports, list) else (),
        tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {},
    )


@dataclass(frozen=True)
class StackRef:
    """One stack a state backend holds, with the fleet it was brought up for."""

    name: str
    project: str
    fleet: str
    cloud: str


def _slug(value: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    return slug or "default"
