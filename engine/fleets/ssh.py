"""SSH fleets: the hosts of a fleet's `ssh_config`, detected over SSH and registered.

    registered = register_ssh_fleet(state, configuration, name="onprem")
    registered.fleet, registered.instances, registered.failures  # failures: "host: reason"

Every host is contacted in parallel; each answers what it has (CPUs, memory, disk of the SSH
user's home, architecture, NVIDIA GPUs through `nvidia-smi --query-gpu`) and becomes an
instance row (backend `ssh`, idle, price 0) with the resources JSON cloud offers use and its
connection in hostname / ssh_port / ssh_user / backend_data (identity_file, proxy_jump,
home). A host that cannot be reached is reported by name with the SSH error; the others
join. With `placement: cluster` each host must reach every other's address (internal_ip,
else hostname) on its SSH port. Deleting the fleet unregisters the rows: nothing is destroyed.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..config import FleetConfiguration
from ..config.fleet import ProxyJump, SSHConfig, SSHHost
from ..errors import FleetstackError
from ..models.fleets import FleetSpec
from ..models.json import JSONObject, JSONValue
from ..models.statuses import FleetStatus, InstanceStatus
from ..remote.connection import Connection, SSHTarget
from ..remote.follower import target_to_json
from ..state import (
    FleetRecord,
    InstanceRecord,
    State,
    create_fleet,
    create_instance,
    get_fleet_by_name,
    instances_of_fleet,
    set_fleet_status,
    set_instance_status,
    update_fleet,
)

BACKEND = "ssh"

_DETECT = r"""
echo "cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
echo "mem_kb=$(awk '/^MemTotal:/{print $2}' /proc/meminfo)"
echo "disk_kb=$(df -Pk "$HOME" | awk 'NR==2{print $2}')"
echo "arch=$(uname -m)"
echo "home=$HOME"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits | sed 's/^/gpu=/'
fi
"""


@dataclass(frozen=True)
class HostSpec:
    """One ssh_config host with the fleet-wide defaults applied."""

    target: SSHTarget
    internal_ip: str | None
    blocks: int | str | None


@dataclass(frozen=True)
class HostFacts:
    cpus: int
    memory_gb: float
    disk_gb: float
    cpu_arch: str
    home: str
    gpus: list[tuple[str, float]]  # (name, memory GB)

    def resources(self) -> JSONObject:
        """The resources JSON of an offer (engine/models/offers.py Offer.to_json)."""
        gpus: list[JSONValue] = [
            {"vendor": "nvidia", "name": name, "memory_gb": memory} for name, memory in self.gpus
        ]
        parts = [f"{self.cpus}xCPU", f"{self.memory_gb:g}GB"]
        if self.gpus:
            parts.append(f"{len(self.gpus)}x{self.gpus[0][0]} ({self.gpus[0][1]:g}GB)")
        parts.append(f"{self.disk_gb:g}GB (disk)")
        return {
            "cpus": self.cpus,
            "cpu_arch": self.cpu_arch,
            "memory_gb": self.memory_gb,
            "disk_gb": self.disk_gb,
            "gpus": gpus,
            "description": ", ".join(parts),
        }


@dataclass(frozen=True)
class Registered:
    fleet: FleetRecord
    instances: list[InstanceRecord]
    failures: list[str]  # "user@host:port: reason", one per host that did not join


def host_specs(ssh: SSHConfig) -> list[HostSpec]:
    """The hosts of `ssh_config`, with the fleet-wide user, port, key and jump host as defaults."""
    specs = []
    for entry in ssh.hosts:
        host = entry if isinstance(entry, SSHHost) else SSHHost(hostname=entry)
        jump = host.proxy_jump or ssh.proxy_jump
        target = SSHTarget(
            hostname=host.hostname,
            port=host.port or ssh.port or 22,
            user=host.user or ssh.user or "root",
            identity_file=host.identity_file or ssh.identity_file,
            proxy_jump=_jump_target(jump, ssh) if jump else None,
        )
        specs.append(HostSpec(target=target, internal_ip=host.internal_ip, blocks=host.blocks))
    return specs


def register_ssh_fleet(
    state: State,
    configuration: FleetConfiguration,
    *,
    name: str,
    on_host: Callable[[str], None] | None = None,
) -> Registered:
    """Contact every host, register those that answer as instances of fleet `name`.

    FleetstackError when no host joins, or when `placement: cluster` hosts cannot reach each
    other; the fleet is then not registered.
    """
    ssh = configuration.ssh_config
    assert ssh is not None
    hosts = host_specs(ssh)
    with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
        results = list(pool.map(_detect, hosts))
    joined = [
        (host, facts)
        for host, facts in zip(hosts, results, strict=True)
        if not isinstance(facts, str)
    ]
    failures = [facts for facts in results if isinstance(facts, str)]
    for line in failures:
        if on_host is not None:
            on_host(line)
    if not joined:
        raise FleetstackError(
            f"fleet {name}: no host could be reached:\n  " + "\n  ".join(failures)
        )
    if configuration.placement == "cluster":
        _check_cluster([host for host, _ in joined], name)
    fleet = _fleet_row(state, name, configuration, len(joined))
    for old in instances_of_fleet(state, fleet.id):
        set_instance_status(state, old.id, InstanceStatus.TERMINATED, termination_reason="replaced")
    for num, (host, facts) in enumerate(joined):
        assert isinstance(facts, HostFacts)
        target = host.target
        data: JSONObject = {
            "identity_file": target.identity_file,
            "proxy_jump": target_to_json(target.proxy_jump) if target.proxy_jump else None,
            "home": facts.home,
            "blocks": host.blocks if host.blocks is not None else configuration.blocks,
        }
        create_instance(
            state,
            fleet.id,
            name=f"{name}-{num}",
            instance_num=num,
            backend=BACKEND,
            region="ssh",
            instance_type=target.hostname,
            price=0.0,
            resources=facts.resources(),
            backend_data=data,
            hostname=target.hostname,
            internal_ip=host.internal_ip or target.hostname,
            ssh_user=target.user,
            ssh_port=target.port,
            status=InstanceStatus.IDLE,
        )
    fleet = set_fleet_status(state, fleet.id, FleetStatus.ACTIVE, message="; ".join(failures))
    return Registered(fleet, instances_of_fleet(state, fleet.id), failures)


def parse_facts(text: str) -> HostFacts:
    """HostFacts from the detection script's `key=value` lines."""
    values: dict[str, str] = {}
    gpus: list[tuple[str, float]] = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "gpu":
            gpu_name, _, memory_mib = value.rpartition(",")
            gpus.append((gpu_name.strip(), round(float(memory_mib.strip() or 0) / 1024, 1)))
        elif key:
            values[key] = value.strip()
    machine = values.get("arch", "")
    return HostFacts(
        cpus=int(values.get("cpus") or 0),
        memory_gb=round(int(values.get("mem_kb") or 0) / 1024 / 1024, 1),
        disk_gb=round(int(values.get("disk_kb") or 0) / 1024 / 1024, 1),
        cpu_arch="arm" if machine.startswith(("arm", "aarch")) else "x86",
        home=values.get("home", ""),
        gpus=gpus,
    )


def _detect(host: HostSpec) -> HostFacts | str:
    try:
        with Connection(host.target) as conn:
            result = conn.run(_DETECT)
    except FleetstackError as e:
        return str(e)
    if result.returncode != 0:
        err = result.stderr.decode("utf-8", "replace").strip()
        return f"{host.target.name}: cannot read its resources: {err}"
    try:
        return parse_facts(result.text())
    except ValueError as e:
        return f"{host.target.name}: unexpected answer while reading its resources: {e}"


def _check_cluster(hosts: list[HostSpec], name: str) -> None:
    """Each host opens a TCP connection to every other's address and SSH port."""
    problems = []
    for host in hosts:
        others = [h for h in hosts if h is not host]
        if not others:
            continue
        probes = "; ".join(
            f"timeout 5 bash -c {shlex.quote(f'exec 3<>/dev/tcp/{_address(o)}/{o.target.port}')}"
            f" 2>/dev/null || echo {shlex.quote(_address(o))}"
            for o in others
        )
        with Connection(host.target) as conn:
            unreachable = conn.run(probes).text().split()
        problems += [f"{host.target.hostname} cannot reach {peer}" for peer in unreachable]
    if problems:
        raise FleetstackError(
            f"fleet {name}: placement: cluster needs every host to reach the others: "
            + "; ".join(problems)
        )


def _address(host: HostSpec) -> str:
    return host.internal_ip or host.target.hostname


def _jump_target(jump: ProxyJump, ssh: SSHConfig) -> SSHTarget:
    return SSHTarget(
        hostname=jump.hostname,
        port=jump.port or 22,
        user=jump.user or ssh.user or "root",
        identity_file=jump.identity_file or ssh.identity_file,
    )


def _fleet_row(
    state: State, name: str, configuration: FleetConfiguration, nodes: int
) -> FleetRecord:
    spec = FleetSpec(
        cloud=None,
        region="ssh",
        nodes=nodes,
        price=0.0,
        idle_duration=None,  # hosts of an SSH fleet are never released for being idle
        resources=f"{nodes} SSH host(s)",
    ).model_dump(mode="json")
    fleet = get_fleet_by_name(state, name)
    if fleet is not None and not fleet.status.is_finished:
        return update_fleet(state, fleet.id, spec=spec, backend=BACKEND)
    return create_fleet(state, name=name, spec=spec, backend=BACKEND, status=FleetStatus.SUBMITTED)
