"""The VM stack engine: the real AWS program, evaluated in-process, boots one instance per node.

What is asserted is read from inside the booted instances (cloud-init's own status, the user
data it was given) and from the engine's state directory; Pulumi's engine is not involved.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from fleetstack.engine.runs.jobs import build_job
from fleetstack.stacks import common
from fleetstack.stacks.errors import StackError
from fleetstack.stacks.spec import StackSpec
from fleetstack.templates.cloud_init import render_user_data

from .engine import VMEngine
from .harness import leftovers


def fleet_spec(public_key: str, nodes: int = 2, fleet: str = "vm-fleet") -> StackSpec:
    """The StackSpec of an AWS fleet as engine/fleets builds it: a fleet's user-data."""
    job = build_job(None, run_name=fleet, run_id="0123456789abcdef0123456789abcdef", gpus=0)
    user_data = render_user_data(job, ssh_public_keys=[public_key], gpu_vendor=None)
    return StackSpec(
        "main", fleet, "aws", "us-east-1", "g6.xlarge", public_key, user_data, nodes=nodes
    )


def test_up_boots_one_instance_per_node_and_answers_with_the_programs_outputs(vm_engine, ssh_key):
    _, public_key = ssh_key("project")
    spec = fleet_spec(public_key)

    outputs = vm_engine.up(spec)

    machines = [vm_engine.machines[i.removeprefix("i-")] for i in outputs.instance_ids]
    assert len(machines) == 2 and len({m.name for m in machines}) == 2
    assert outputs.public_ips == outputs.private_ips == [m.ip for m in machines]
    assert outputs.ssh_user == common.SSH_USER  # what the real program exports
    for machine in machines:
        assert re.search(r"^status: done$", machine.cloud_init_status(), re.M)
        given = machine.run(["cat", "/var/lib/cloud/instance/user-data.txt"]).stdout
        assert given == spec.user_data  # read inside: the path is a symlink in the instance
    records = vm_engine._read(spec.stack_name)
    assert {r.instance_type for r in records} == {"g6.xlarge"}
    assert all(r.tags["fleet"] == "vm-fleet" and r.tags["owner"] == "fleetstack" for r in records)
    assert all(r.key_name.startswith(spec.resource_prefix) for r in records)


def test_a_second_up_with_the_same_spec_changes_nothing(vm_engine, ssh_key):
    _, public_key = ssh_key("project")
    spec = fleet_spec(public_key, nodes=1)
    first = vm_engine.up(spec)
    leader = vm_engine.machines[first.instance_ids[0].removeprefix("i-")].leader_pid()

    second = vm_engine.up(spec)

    assert second == first and vm_engine.boots == 1
    assert vm_engine.machines[second.instance_ids[0].removeprefix("i-")].leader_pid() == leader


def test_state_lives_in_its_directory_and_destroy_halts_the_instances(vm_engine, vm_bench, ssh_key):
    _, public_key = ssh_key("project")
    spec = fleet_spec(public_key, nodes=1)
    outputs = vm_engine.up(spec)
    name = outputs.instance_ids[0].removeprefix("i-")
    again = VMEngine(vm_bench, vm_engine.state_dir)  # another engine on the same directory

    assert again.outputs("main", "vm-fleet", "aws") == outputs
    assert [p.name for p in vm_engine.state_dir.iterdir()] == [f"{spec.stack_name}.json"]

    vm_engine.destroy("main", "vm-fleet", "aws")

    assert vm_engine.machines == {}
    assert [item for item in leftovers(name) if f"{name}" in item] == []
    assert vm_engine.outputs("main", "vm-fleet", "aws") is None
    vm_engine.destroy("main", "vm-fleet", "aws")  # nothing left to destroy is not an error


def test_a_cloud_whose_instances_it_cannot_boot_is_refused_not_answered(vm_engine, ssh_key):
    _, public_key = ssh_key("project")
    spec = replace(fleet_spec(public_key, nodes=1), cloud="gcp")

    with pytest.raises(StackError, match="boots aws fleets only"):
        vm_engine.up(spec)

    assert vm_engine.boots == 0 and vm_engine.stacks() == []
