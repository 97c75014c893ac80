"""The AWS program under Pulumi mocks: what it would ask EC2 for, input by input."""

from __future__ import annotations

import base64
import gzip
import random
import string

import pytest
from fleetstack.stacks.aws import instance_arch, user_data_args
from fleetstack.stacks.errors import StackError

from .conftest import three_node_exports

INSTANCE = "aws:ec2/instance:Instance"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
KEY_PAIR = "aws:ec2/keyPair:KeyPair"
PLACEMENT_GROUP = "aws:ec2/placementGroup:PlacementGroup"
GET_AMI = "aws:ec2/getAmi:getAmi"


@pytest.fixture(scope="module")
def gpu_cluster(cluster_spec, run_program):
    spec = cluster_spec(
        "aws",
        instance_type="p4d.24xlarge",
        gpu_name="A100",
        gpu_count=8,
        max_price=12.5,
        disk_gb=500,
        ports=(8000, 6006, 8000),
        allowed_cidr="203.0.113.0/24",
        zone="us-east-1b",
        tags={"team": "ml"},
    )
    return spec, run_program(spec)


@pytest.fixture(scope="module")
def cpu_node(make_spec, run_program):
    spec = make_spec("aws", instance_type="t3.large")
    return spec, run_program(spec)


def test_a_gpu_cluster_has_one_spot_instance_per_node_in_one_cluster_placement_group(gpu_cluster):
    spec, ev = gpu_cluster
    instances = ev.of_type(INSTANCE)
    assert [i.name for i in instances] == [f"{spec.resource_prefix}-node-{n}" for n in range(3)]
    group = ev.one(PLACEMENT_GROUP)
    assert group.inputs["strategy"] == "cluster"
    assert {i.inputs["placementGroup"] for i in instances} == {group.name}
    for instance in instances:
        assert instance.inputs["instanceType"] == "p4d.24xlarge"
        assert instance.inputs["availabilityZone"] == "us-east-1b"
        assert instance.inputs["instanceMarketOptions"] == {
            "marketType": "spot",
            "spotOptions": {
                "maxPrice": "12.5",
                "instanceInterruptionBehavior": "terminate",
                "spotInstanceType": "one-time",
            },
        }


def test_nodes_boot_the_user_data_with_the_disk_size_and_key(gpu_cluster):
    spec, ev = gpu_cluster
    key = ev.one(KEY_PAIR)
    assert key.inputs["publicKey"] == spec.ssh_public_key
    for instance in ev.of_type(INSTANCE):
        assert instance.inputs["userData"] == spec.user_data
        assert instance.inputs["rootBlockDevice"]["volumeSize"] == 500
        assert instance.inputs["rootBlockDevice"]["volumeType"] == "gp3"
        assert instance.inputs["keyName"].startswith(key.inputs["keyNamePrefix"])
        assert instance.inputs["associatePublicIpAddress"] is True


def test_security_group_opens_only_ssh_to_the_allowed_cidr_not_the_task_ports(gpu_cluster):
    _, ev = gpu_cluster
    sg = ev.one(SECURITY_GROUP)
    from_cidr = [rule for rule in sg.inputs["ingress"] if "cidrBlocks" in rule]
    assert sorted((r["fromPort"], r["toPort"]) for r in from_cidr) == [(22, 22)]
    assert {r["protocol"] for r in from_cidr} == {"tcp"}
    assert all(r["cidrBlocks"] == ["203.0.113.0/24"] for r in from_cidr)
    # the nodes reach each other on every port, and nothing else is open
    assert [r for r in sg.inputs["ingress"] if "cidrBlocks" not in r] == [
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}
    ]
    assert sg.inputs["egress"] == [
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}
    ]
    for instance in ev.of_type(INSTANCE):
        assert instance.inputs["vpcSecurityGroupIds"] == [sg.id]


def test_every_taggable_resource_carries_the_fleet_tags_and_a_name(gpu_cluster):
    spec, ev = gpu_cluster
    assert len(ev.resources) == 6  # sg, key, placement group, 3 instances
    for resource in ev.resources:
        tags = resource.inputs["tags"]
        assert tags == {**spec.all_tags, "Name": resource.name}, resource.typ
        assert tags["team"] == "ml" and tags["owner"] == "fleetstack"
    for instance in ev.of_type(INSTANCE):
        assert instance.inputs["volumeTags"]["fleet"] == "train"


def test_gpu_nodes_boot_the_nvidia_deep_learning_ami(gpu_cluster):
    _, ev = gpu_cluster
    [(token, args)] = ev.calls
    assert token == GET_AMI
    assert args["owners"] == ["amazon"] and args["mostRecent"] is True
    name_filter = next(f for f in args["filters"] if f["name"] == "name")
    assert name_filter["values"] == [
        "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"
    ]
    assert {i.inputs["ami"] for i in ev.of_type(INSTANCE)} == {"ami-0123456789abcdef0"}


def test_exports_list_instances_and_ips_in_node_order(gpu_cluster):
    _, ev = gpu_cluster
    ids = [i.id for i in ev.of_type(INSTANCE)]
    assert ids == sorted(ids) and ids[0].endswith("node-0-id")
    assert ev.exports == three_node_exports(ids)


def test_a_cpu_node_is_on_demand_ubuntu_without_placement(cpu_node):
    spec, ev = cpu_node
    instance = ev.one(INSTANCE)
    assert instance.inputs["instanceType"] == "t3.large"
    assert "instanceMarketOptions" not in instance.inputs
    assert "placementGroup" not in instance.inputs
    assert "availabilityZone" not in instance.inputs
    assert instance.inputs["rootBlockDevice"]["volumeSize"] == spec.disk_gb == 100
    assert ev.of_type(PLACEMENT_GROUP) == []
    [(_, args)] = ev.calls
    assert args["owners"] == ["099720109477"]  # Canonical
    name_filter = next(f for f in args["filters"] if f["name"] == "name")
    assert name_filter["values"] == ["ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*"]
    sg = ev.one(SECURITY_GROUP)
    assert [r["fromPort"] for r in sg.inputs["ingress"] if "cidrBlocks" in r] == [22]
    assert sg.inputs["ingress"][0]["cidrBlocks"] == ["0.0.0.0/0"]
    assert ev.exports["instance_ids"] == [instance.id]


def test_spot_without_max_price_leaves_the_cap_to_aws_and_graviton_gets_arm64_images(
    make_spec, run_program
):
    spec = make_spec("aws", instance_type="g5g.xlarge", gpu_count=1, gpu_name="T4G", spot=True)
    ev = run_program(spec)
    spot = ev.one(INSTANCE).inputs["instanceMarketOptions"]
    assert spot["marketType"] == "spot"
    assert "maxPrice" not in spot["spotOptions"]
    [(_, args)] = ev.calls
    name_filter = next(f for f in args["filters"] if f["name"] == "name")
    assert name_filter["values"] == [
        "Deep Learning ARM64 Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"
    ]


@pytest.mark.parametrize(
    ("instance_type", "arch"),
    [
        ("t3.large", "x86_64"),
        ("g5.xlarge", "x86_64"),
        ("g4dn.12xlarge", "x86_64"),
        ("g4ad.xlarge", "x86_64"),
        ("p5.48xlarge", "x86_64"),
        ("m7i-flex.large", "x86_64"),
        ("m7g.large", "arm64"),
        ("c6gn.xlarge", "arm64"),
        ("g5g.2xlarge", "arm64"),
        ("r8gd.medium", "arm64"),
        ("a1.medium", "arm64"),
    ],
)
def test_instance_arch_recognises_graviton_types(instance_type, arch):
    assert instance_arch(instance_type) == arch


def test_user_data_over_16kb_is_gzipped_and_identical_each_time(make_spec):
    script = "#cloud-config\nwrite_files:\n" + "  - path: /etc/x\n    content: aaaa\n" * 1000
    spec = make_spec("aws", user_data=script)
    args = user_data_args(spec)
    assert list(args) == ["user_data_base64"]
    assert gzip.decompress(base64.b64decode(args["user_data_base64"])).decode() == script
    assert user_data_args(spec) == args  # no timestamp in the gzip header: no spurious diff
    assert user_data_args(make_spec("aws")) == {"user_data": make_spec("aws").user_data}


def test_user_data_too_big_even_gzipped_is_a_clear_error(make_spec):
    noise = "".join(random.Random(7).choices(string.ascii_letters, k=40_000))
    with pytest.raises(StackError, match=r"EC2 accepts 16 KB of user data"):
        user_data_args(make_spec("aws", user_data=noise))
