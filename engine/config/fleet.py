"""`type: fleet`: cloud fleets (nodes + resources) and SSH fleets (ssh_config.hosts)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ..models.resources import ResourcesSpec, parse_count
from ..models.short_forms import ShortForms
from .common import (
    Duration,
    ProfileParams,
    Strict,
    check_name,
    validate_env,
)
from .run import Env

DEFAULT_FLEET_IDLE_DURATION = 3 * 86400  # dstack: 3d
Blocks = Annotated[int, Field(ge=1)] | Literal["auto"] | None


class FleetNodes(ShortForms, Strict):
    """`nodes: 2`, `nodes: 0..2`, `nodes: {min: 0, target: 1, max: 2}`."""

    min: int | None = Field(default=None, ge=0, description="Fewest nodes")
    target: int | None = Field(default=None, ge=0, description="Nodes provisioned at creation")
    max: int | None = Field(default=None, ge=0, description="Most nodes (null = no limit)")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, dict):
            return value
        if isinstance(value, FleetNodes):
            return value
        return parse_count(value)

    @model_validator(mode="after")
    def _check(self) -> FleetNodes:
        lo, hi = self.min or 0, self.max
        if hi is not None and lo > hi:
            raise ValueError(f"nodes {lo}..{hi} has its min above its max: write {hi}..{lo}")
        if self.target is not None and (self.target < lo or (hi is not None and self.target > hi)):
            raise ValueError(f"nodes target {self.target} is outside {lo}..{hi or ''}")
        return self


class ProxyJump(Strict):
    hostname: str = Field(description="Jump host")
    port: int | None = Field(default=None, ge=1, le=65535, description="SSH port")
    user: str = Field(description="SSH user on the jump host")
    identity_file: str = Field(description="Private key file for the jump host")


class SSHHost(Strict):
    hostname: str = Field(description="Host name or IP address")
    port: int | None = Field(default=None, ge=1, le=65535, description="SSH port")
    user: str | None = Field(default=None, description="SSH user (default: ssh_config.user)")
    identity_file: str | None = Field(default=None, description="Private key file")
    proxy_jump: ProxyJump | None = Field(default=None, description="Reach the host through this")
    internal_ip: str | None = Field(default=None, description="IP inside the cluster network")
    blocks: Blocks = Field(default=None, description="Split the host into blocks (GPU shares)")


class SSHConfig(Strict):
    user: str | None = Field(default=None, description="SSH user of every host")
    port: int | None = Field(default=None, ge=1, le=65535, description="SSH port of every host")
    identity_file: str | None = Field(default=None, description="Private key file")
    proxy_jump: ProxyJump | None = Field(default=None, description="Reach hosts through this")
    hosts: list[str | SSHHost] = Field(
        min_length=1, description="Hosts: hostnames/IPs, or mappings with hostname, user, ..."
    )
    network: str | None = Field(
        default=None, description="Private cluster network of the hosts, e.g. 10.0.0.0/24"
    )

    @field_validator("network")
    @classmethod
    def _private(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"network {value!r} is not a CIDR such as 10.0.0.0/24") from None
        if not network.is_private:
            raise ValueError(f"network {value} is public: give the hosts' private network")
        return value


class FleetConfiguration(ProfileParams):
    """`type: fleet`: instances provisioned ahead of runs (cloud), or existing hosts (SSH)."""

    type: Literal["fleet"] = Field(description="fleet")
    name: str | None = Field(
        default=None, description="Fleet name: lowercase letters, digits and hyphens"
    )
    env: Env = Field(default_factory=dict, description="Environment variables of SSH fleets")
    ssh_config: SSHConfig | None = Field(
        default=None, description="Existing hosts reached over SSH (on-prem fleet)"
    )
    nodes: int | FleetNodes | None = Field(
        default=None,
        description="Number of instances: 2, a range 0..2, or {min, target, max} (omitted: "
        "none provisioned ahead)",
    )
    placement: Literal["any", "cluster"] | None = Field(
        default=None, description="cluster: instances on one fast network (multi-node)"
    )
    resources: ResourcesSpec = Field(
        default_factory=ResourcesSpec.unconstrained,
        description="Resources of each instance (default: any instance)",
    )
    blocks: Blocks = Field(
        default=None, description="Split each instance into blocks (GPU shares), or auto"
    )
    idle_duration: Duration = Field(
        default=DEFAULT_FLEET_IDLE_DURATION,
        description="Terminate instances idle for this long, e.g. 1h or off (default 3d)",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return check_name(value)

    @field_validator("nodes", mode="before")
    @classmethod
    def _nodes(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("nodes: expected a count such as 2, 0..2 or {min: 0, max: 2}")
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"nodes {value} cannot be negative: write e.g. 2 or 0..2")
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return cls._nodes(int(value.strip()))
        if isinstance(value, str | dict):
            return FleetNodes.model_validate(value)
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: object) -> object:
        return validate_env(value)

    @property
    def node_count(self) -> int:
        """Nodes to provision when the fleet is created."""
        nodes = self.nodes
        if nodes is None:
            return len(self.ssh_config.hosts) if self.ssh_config else 0
        if isinstance(nodes, int):
            return nodes
        if nodes.target is not None:
            return nodes.target
        return nodes.min or 0
