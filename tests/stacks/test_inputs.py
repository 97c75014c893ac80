"""The offline plan's details: what a reviewer reads for each resource of each cloud."""

from __future__ import annotations

import dataclasses

import pytest
from fleetstack.stacks import aws
from fleetstack.stacks.inputs import summarize
from fleetstack.stacks.offline import offline_plan
from fleetstack.stacks.spec import StackSpec

SPEC = StackSpec(
    project="main", fleet="train", cloud="aws", region="us-east-1", instance_type="g6.xlarge",
    ssh_public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZsZWV0c3RhY2s test", nodes=2,
    user_data="#cloud-config\n", spot=True, max_price=1.5, disk_gb=200, gpu_vendor="nvidia",
    gpu_name="L4", gpu_count=1, ports=(8000,), allowed_cidr="198.51.100.0/24",
    placement_cluster=True,
)  # fmt: skip


def _details(spec: StackSpec, type_token: str) -> list[str]:
    changes = [c for c in offline_plan(spec).changes if c.type == type_token]
    assert changes, f"no {type_token} in the plan"
    return changes[0].changed


def test_aws_instance_and_security_group_details():
    instance = _details(SPEC, "aws:ec2/instance:Instance")
    assert "size=g6.xlarge" in instance
    assert "disk=200GB" in instance
    assert "market=spot" in instance
    assert "max_price=1.5" in instance
    assert any(d.startswith("placement=") for d in instance)
    sg = _details(SPEC, "aws:ec2/securityGroup:SecurityGroup")
    assert "ingress=22 from 198.51.100.0/24" in sg


def test_gcp_instance_shows_gpus_spot_and_the_firewall_ports():
    spec = dataclasses.replace(
        SPEC, cloud="gcp", region="us-central1", instance_type="n1-standard-8", gpu_name="T4"
    )
    instance = _details(spec, "gcp:compute/instance:Instance")
    assert "size=n1-standard-8" in instance
    assert "market=SPOT" in instance
    assert "disk=200GB" in instance
    assert "gpus=1×nvidia-tesla-t4" in instance
    changes = offline_plan(spec).changes
    firewalls = [c.changed for c in changes if c.type == "gcp:compute/firewall:Firewall"]
    assert ["ingress=22 from 198.51.100.0/24"] in firewalls


def test_azure_vm_and_nsg_details():
    spec = dataclasses.replace(
        SPEC, cloud="azure", region="eastus", instance_type="Standard_NC4as_T4_v3"
    )
    vm = _details(spec, "azure-native:compute:VirtualMachine")
    assert "size=Standard_NC4as_T4_v3" in vm
    assert "market=Spot" in vm
    assert "disk=200GB" in vm
    nsg = _details(spec, "azure-native:network:NetworkSecurityGroup")
    assert "ingress=22 from 198.51.100.0/24" in nsg


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"instanceType": "t3.micro", "ami": "offline-placeholder"},
         ["size=t3.micro", "image=(looked up at apply)"]),
        ({"rootBlockDevice": {"volumeSize": 100.0}}, ["disk=100GB"]),
        ({"ingress": [{"fromPort": 0.0, "toPort": 0.0, "protocol": "-1", "self": True}]}, []),
        ({"ingress": [{"fromPort": 8000.0, "toPort": 8100.0, "cidrBlocks": ["0.0.0.0/0"]}]},
         ["ingress=8000-8100 from 0.0.0.0/0"]),
        ({}, []),
    ],
)  # fmt: skip
def test_summarize_plain_inputs(inputs, expected):
    assert summarize(inputs, aws.REVIEW_INPUTS) == expected
