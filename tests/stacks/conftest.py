"""Helpers for the stack program tests: a mocked Pulumi evaluation that records everything."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from fleetstack.stacks.spec import StackSpec

_LOCK = threading.Lock()  # the Pulumi runtime settings are process-global

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetstackTestKey test@fleetstack"
USER_DATA = "#cloud-config\nruncmd:\n  - echo 'hello from fleetstack'\n"
CLUSTER = {"gpu_vendor": "nvidia", "nodes": 3, "placement_cluster": True, "spot": True}


@dataclass
class Registered:
    """One resource the program registered: its type token, logical name and inputs."""

    typ: str
    name: str
    inputs: dict[str, Any]
    id: str


@dataclass
class Evaluation:
    resources: list[Registered] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Registered]:
        """Resources of one type in node order (registration order varies from run to run)."""
        return sorted((r for r in self.resources if r.typ == typ), key=lambda r: _natural(r.name))

    def one(self, typ: str) -> Registered:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]

    def types(self) -> list[str]:
        return sorted(r.typ for r in self.resources)


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def fake_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Provider-computed outputs a program reads back (IPs, self links), per resource type.

    IPs follow the node number in the name: node-0 gets 203.0.113.10 and 10.0.0.10.
    """
    node = re.search(r"node-(\d+)", name)
    index = int(node.group(1)) if node else 99
    public, private = f"203.0.113.{10 + index}", f"10.0.0.{10 + index}"
    if typ == "aws:ec2/instance:Instance":
        return {"publicIp": public, "privateIp": private}
    if typ == "aws:ec2/keyPair:KeyPair":
        return {"keyName": f"{inputs.get('keyNamePrefix', '')}0001"}
    if typ == "gcp:compute/instance:Instance":
        interfaces = [
            {**nic, "networkIp": private, "accessConfigs": [{"natIp": public}]}
            for nic in inputs.get("networkInterfaces", [])
        ]
        return {"networkInterfaces": interfaces}
    if typ.startswith("gcp:"):
        return {"selfLink": f"https://www.googleapis.com/compute/v1/{name}"}
    if typ == "azure-native:network:PublicIPAddress":
        return {"ipAddress": public}
    if typ == "azure-native:network:NetworkInterface":
        configs = [{**c, "privateIPAddress": private} for c in inputs.get("ipConfigurations", [])]
        return {"ipConfigurations": configs}
    return {}


def three_node_exports(instance_ids: list[str]) -> dict[str, Any]:
    """What every program exports for three nodes: fake_outputs' IPs, in node order."""
    return {
        "instance_ids": instance_ids,
        "public_ips": ["203.0.113.10", "203.0.113.11", "203.0.113.12"],
        "private_ips": ["10.0.0.10", "10.0.0.11", "10.0.0.12"],
        "ssh_user": "ubuntu",
    }


def evaluate(program: Callable[[], None]) -> Evaluation:
    """Run `program` under Pulumi mocks in a fresh thread and event loop; return what it did."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["evaluation"] = _run_mocked(program)
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc

    with _LOCK:
        thread = threading.Thread(target=target, name="stack-program-test")
        thread.start()
        thread.join()
    if "error" in result:
        raise result["error"]
    return result["evaluation"]


def _run_mocked(program: Callable[[], None]) -> Evaluation:
    import pulumi
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.stack import run_pulumi_func

    evaluation = Evaluation()

    class RecordingMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            resource_id = f"{args.name}-id"
            evaluation.resources.append(
                Registered(args.typ, args.name, dict(args.inputs), resource_id)
            )
            outputs = {
                **args.inputs,
                "id": resource_id,
                "name": args.inputs.get("name", args.name),
                **fake_outputs(args.typ, args.name, args.inputs),
            }
            return resource_id, outputs

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
            evaluation.calls.append((args.token, dict(args.args)))
            return {**args.args, "id": "ami-0123456789abcdef0"}, []

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi_settings.reset_options(project="fleetstack", stack="test", preview=False)
        pulumi.runtime.set_mocks(
            RecordingMocks(), project="fleetstack", stack="test", preview=False
        )
        loop.run_until_complete(run_pulumi_func(program))
        root = pulumi_settings.get_root_resource()
        for key, value in root.outputs.items():
            evaluation.exports[key] = loop.run_until_complete(_resolve(value))
    finally:
        pulumi_settings.reset_options()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.close()
        asyncio.set_event_loop(None)
    return evaluation


async def _resolve(value: Any) -> Any:
    import pulumi

    return await pulumi.Output.from_input(value).future()


@pytest.fixture(scope="session")
def make_spec() -> Callable[..., StackSpec]:
    """A factory of StackSpecs: sensible single-node defaults, any field overridden by keyword."""

    def factory(cloud: str, **overrides: Any) -> StackSpec:
        base = StackSpec(
            project="main",
            fleet="train",
            cloud=cloud,
            region="us-east-1",
            instance_type="t3.large",
            ssh_public_key=SSH_KEY,
            user_data=USER_DATA,
        )
        return replace(base, **overrides)

    return factory


@pytest.fixture(scope="session")
def cluster_spec(make_spec: Callable[..., StackSpec]) -> Callable[..., StackSpec]:
    """cluster_spec(cloud, **fields): three NVIDIA spot nodes in one placement group, the
    other fields make_spec's defaults unless given."""

    def factory(cloud: str, **overrides: Any) -> StackSpec:
        return make_spec(cloud, **{**CLUSTER, **overrides})

    return factory


@pytest.fixture(scope="session")
def run_program() -> Callable[[StackSpec], Evaluation]:
    """Evaluate the real program of a spec (through program_for) under mocks."""

    def run(spec: StackSpec) -> Evaluation:
        from fleetstack.stacks.programs import program_for

        return evaluate(program_for(spec))

    return run
