import asyncio
import dataclasses
import importlib.util

import pytest
from fleetstack.stacks import aws as aws_program
from fleetstack.stacks.offline import evaluate_program, offline_plan
from fleetstack.stacks.spec import StackSpec

SPEC = StackSpec(
    project="main", fleet="train", cloud="aws", region="us-east-1",
    instance_type="g5.xlarge", ssh_public_key="ssh-ed25519 AAAA test", user_data="#cloud-config\n",
    nodes=2,
)  # fmt: skip
PATHS = aws_program.REVIEW_INPUTS


def _program() -> None:
    import pulumi
    import pulumi_aws as aws

    ami = aws.ec2.get_ami(most_recent=True, owners=["099720109477"])
    sg = aws.ec2.SecurityGroup("sg", description="fleet")
    for i in range(2):
        aws.ec2.Instance(
            f"node-{i}", instance_type="g5.xlarge", ami=ami.id, vpc_security_group_ids=[sg.id]
        )
    pulumi.export("ssh_user", "ubuntu")


def test_offline_plan_lists_every_resource_as_create_with_key_inputs():
    diff = evaluate_program(_program, project="fleetstack", stack="main-train", paths=PATHS)
    assert diff.state_compared is False
    names = sorted(c.name for c in diff.changes)
    assert names == ["node-0", "node-1", "sg"]
    assert {c.op for c in diff.changes} == {"create"}
    node = next(c for c in diff.changes if c.name == "node-0")
    assert node.type == "aws:ec2/instance:Instance"
    assert node.changed == ["size=g5.xlarge", "image=(looked up at apply)"]
    assert diff.summary() == "+ 3 to create (no state compared)"


def test_offline_plan_is_repeatable_and_works_inside_a_running_loop():
    first = evaluate_program(_program, project="fleetstack", stack="a", paths=PATHS)

    async def inside() -> int:
        return len(evaluate_program(_program, project="fleetstack", stack="b", paths=PATHS).changes)

    assert asyncio.run(inside()) == len(first.changes) == 3


@pytest.mark.skipif(
    importlib.util.find_spec("fleetstack.stacks.programs") is None,
    reason="stacks/programs.py has not landed yet",
)
def test_offline_plan_of_the_aws_program_creates_one_instance_per_node():
    diff = offline_plan(SPEC)
    instances = [c for c in diff.changes if c.type == "aws:ec2/instance:Instance"]
    assert len(instances) == 2
    assert diff.state_compared is False


@pytest.mark.parametrize(
    ("cloud", "region", "instance_type", "instance_token"),
    [
        ("gcp", "us-central1", "g2-standard-8", "gcp:compute/instance:Instance"),
        ("azure", "eastus", "Standard_NC4as_T4_v3", "azure-native:compute:VirtualMachine"),
    ],
)
def test_offline_plan_of_the_gcp_and_azure_programs_creates_one_instance_per_node(
    cloud, region, instance_type, instance_token
):
    spec = dataclasses.replace(
        SPEC, cloud=cloud, region=region, instance_type=instance_type, gpu_count=1
    )
    diff = offline_plan(spec)
    instances = [c for c in diff.changes if c.type == instance_token]
    assert len(instances) == 2
    assert {c.op for c in diff.changes} == {"create"}
    assert f"size={instance_type}" in instances[0].changed
