"""Where a run's ports can be reached, in one line for the plan.

A local container publishes each port on 127.0.0.1 unless the port says otherwise
(`ports: ["0.0.0.0:8080:8080"]`); a job without an image runs on this machine itself, so
its process decides where it listens; on a cloud instance the port is published on every
interface and the stack's firewall opens it to `allowed_cidr`.
"""

from __future__ import annotations

import ipaddress

from ..config import DevEnvironmentConfiguration, ServiceConfiguration, TaskConfiguration
from ..models.jobs import PUBLISH_ADDRESS
from ..models.plan import Plan


def port_exposure(plan: Plan) -> str | None:
    """`8080 -> 127.0.0.1:8080 (this machine only), ...`; None when the run has no port."""
    configuration = plan.configuration
    if isinstance(configuration, ServiceConfiguration):
        mappings = [configuration.port]
    elif isinstance(configuration, TaskConfiguration | DevEnvironmentConfiguration):
        mappings = list(configuration.ports)
    else:
        return None
    if not mappings:
        return None
    if not plan.runs_here:
        spec = plan.resource_plan.spec if plan.resource_plan is not None else None
        cidr = spec.allowed_cidr if spec is not None else "0.0.0.0/0"
        ports = ", ".join(str(m.container_port) for m in mappings)
        return f"{ports} on the instance's address, open to {cidr} (the stack's firewall)"
    if configuration.image is None:
        ports = ", ".join(str(m.container_port) for m in mappings)
        return f"{ports}: the job runs on this machine (no image): it listens where it binds"
    parts = []
    for m in mappings:
        address = m.local_address or PUBLISH_ADDRESS
        local = m.local_port or m.container_port
        shown = f"[{address}]" if ":" in address else address
        parts.append(f"{m.container_port} -> {shown}:{local} ({_reach(address)})")
    return ", ".join(parts)


def _reach(address: str) -> str:
    ip = ipaddress.ip_address(address)
    if ip.is_loopback:
        return "this machine only"
    if ip.is_unspecified:
        return "every interface: other machines too"
    return f"the interface {address}"
