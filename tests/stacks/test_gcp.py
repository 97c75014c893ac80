"""The GCP program under Pulumi mocks: what it would ask Compute Engine for."""

from __future__ import annotations

import pytest
from fleetstack.stacks.errors import StackError
from fleetstack.stacks.gcp import (
    DLVM_GPU_IMAGE,
    UBUNTU_IMAGE,
    accelerator_type,
    boot_disk_type,
    default_zone,
    gcp_labels,
)

from .conftest import three_node_exports

INSTANCE = "gcp:compute/instance:Instance"
FIREWALL = "gcp:compute/firewall:Firewall"
POLICY = "gcp:compute/resourcePolicy:ResourcePolicy"


@pytest.fixture(scope="module")
def t4_cluster(cluster_spec, run_program):
    spec = cluster_spec(
        "gcp",
        region="us-central1",
        instance_type="n1-standard-8",
        gpu_name="T4",
        gpu_count=2,
        disk_gb=250,
        ports=(8000,),
        allowed_cidr="198.51.100.7/32",
        tags={"Team": "ML Research", "cost-center": "R&D/42"},
    )
    return spec, run_program(spec)


@pytest.fixture(scope="module")
def a100_node(make_spec, run_program):
    spec = make_spec(
        "gcp",
        region="us-central1",
        zone="us-central1-c",
        instance_type="a2-highgpu-1g",
        gpu_vendor="nvidia",
        gpu_name="A100",
        gpu_count=1,
    )
    return spec, run_program(spec)


def test_n1_nodes_get_their_gpus_as_guest_accelerators(t4_cluster):
    spec, ev = t4_cluster
    instances = ev.of_type(INSTANCE)
    assert [i.name for i in instances] == [f"{spec.resource_prefix}-node-{n}" for n in range(3)]
    for instance in instances:
        assert instance.inputs["machineType"] == "n1-standard-8"
        assert instance.inputs["guestAccelerators"] == [{"type": "nvidia-tesla-t4", "count": 2}]
        assert instance.inputs["zone"] == "us-central1-a"  # the region's first zone by default


def test_spot_nodes_are_spot_preemptible_and_deleted_on_preemption(t4_cluster):
    _, ev = t4_cluster
    for instance in ev.of_type(INSTANCE):
        assert instance.inputs["scheduling"] == {
            "provisioningModel": "SPOT",
            "preemptible": True,
            "automaticRestart": False,
            "onHostMaintenance": "TERMINATE",
            "instanceTerminationAction": "DELETE",
        }


def test_a_cluster_shares_one_collocated_placement_policy(t4_cluster):
    spec, ev = t4_cluster
    policy = ev.one(POLICY)
    assert policy.inputs["region"] == "us-central1"
    assert policy.inputs["groupPlacementPolicy"] == {"collocation": "COLLOCATED", "vmCount": 3}
    self_link = f"https://www.googleapis.com/compute/v1/{policy.name}"
    assert {i.inputs["resourcePolicies"] for i in ev.of_type(INSTANCE)} == {self_link}


def test_boot_disk_user_data_and_ssh_key(t4_cluster):
    spec, ev = t4_cluster
    for instance in ev.of_type(INSTANCE):
        params = instance.inputs["bootDisk"]["initializeParams"]
        assert params["image"] == DLVM_GPU_IMAGE
        assert "deeplearning-platform-release" in params["image"]
        assert params["size"] == 250
        assert params["type"] == "pd-balanced"
        assert instance.inputs["metadata"] == {
            "user-data": spec.user_data,
            "ssh-keys": f"ubuntu:{spec.ssh_public_key}",
        }
        assert instance.inputs["networkInterfaces"] == [
            {"network": "default", "accessConfigs": [{}]}
        ]


def test_firewall_opens_only_ssh_to_the_cidr_for_the_fleets_instances(t4_cluster):
    spec, ev = t4_cluster
    public, internal = ev.of_type(FIREWALL)
    assert public.inputs["allows"] == [{"protocol": "tcp", "ports": ["22"]}]  # not 8000
    assert public.inputs["sourceRanges"] == ["198.51.100.7/32"]
    assert public.inputs["direction"] == "INGRESS"
    tag = spec.resource_prefix
    assert public.inputs["targetTags"] == [tag]
    # between the fleet's own nodes everything is open, from nowhere else
    assert internal.inputs["allows"] == [{"protocol": "all"}]
    assert internal.inputs["sourceTags"] == internal.inputs["targetTags"] == [tag]
    assert "sourceRanges" not in internal.inputs
    assert all(i.inputs["tags"] == [tag] for i in ev.of_type(INSTANCE))


def test_labels_follow_gcp_rules(t4_cluster):
    _, ev = t4_cluster
    expected = {
        "owner": "fleetstack",
        "project": "main",
        "fleet": "train",
        "team": "ml-research",
        "cost-center": "r-d-42",
    }
    for instance in ev.of_type(INSTANCE):
        assert instance.inputs["labels"] == expected
        assert instance.inputs["bootDisk"]["initializeParams"]["labels"] == expected


def test_exports_list_instances_and_ips_in_node_order(t4_cluster):
    _, ev = t4_cluster
    assert ev.exports == three_node_exports([i.id for i in ev.of_type(INSTANCE)])


def test_accelerator_optimized_types_bring_their_own_gpus(a100_node):
    _, ev = a100_node
    instance = ev.one(INSTANCE)
    assert instance.inputs["machineType"] == "a2-highgpu-1g"
    assert "guestAccelerators" not in instance.inputs
    assert instance.inputs["zone"] == "us-central1-c"
    # on demand, but a GPU cannot live-migrate
    assert instance.inputs["scheduling"] == {"onHostMaintenance": "TERMINATE"}
    assert instance.inputs["bootDisk"]["initializeParams"]["image"] == DLVM_GPU_IMAGE
    assert "resourcePolicies" not in instance.inputs
    assert ev.of_type(POLICY) == []
    assert len(ev.of_type(FIREWALL)) == 1  # no internal rule for a single node


def test_a_cpu_node_boots_ubuntu_and_migrates_on_maintenance(make_spec, run_program):
    spec = make_spec("gcp", region="us-east1", instance_type="e2-standard-4")
    instance = run_program(spec).one(INSTANCE)
    assert instance.inputs["bootDisk"]["initializeParams"]["image"] == UBUNTU_IMAGE
    assert instance.inputs["zone"] == "us-east1-b"  # us-east1 has no zone a
    assert instance.inputs["scheduling"] == {"onHostMaintenance": "MIGRATE"}
    assert "guestAccelerators" not in instance.inputs


@pytest.mark.parametrize(
    ("gpu_name", "machine_type", "expected"),
    [
        ("T4", "n1-standard-4", "nvidia-tesla-t4"),
        ("v100", "n1-highmem-8", "nvidia-tesla-v100"),
        ("nvidia-tesla-p100", "n1-standard-8", "nvidia-tesla-p100"),
        ("A100", "a2-ultragpu-1g", None),
        ("H100", "a3-highgpu-8g", None),
        ("L4", "g2-standard-8", None),
    ],
)
def test_accelerator_type(make_spec, gpu_name, machine_type, expected):
    spec = make_spec("gcp", instance_type=machine_type, gpu_name=gpu_name, gpu_count=1)
    assert accelerator_type(spec) == expected


def test_an_unknown_gpu_on_n1_is_a_clear_error(make_spec):
    spec = make_spec("gcp", instance_type="n1-standard-4", gpu_name="MI300X", gpu_count=1)
    with pytest.raises(StackError, match=r"GPU 'MI300X' cannot be attached.*known GPUs: .*T4"):
        accelerator_type(spec)


def test_gcp_labels_lowercase_charset_length_and_leading_letter():
    labels = gcp_labels({"Owner": "Me", "9lives": "x" * 80, "a.b/c": "Ünïcode Value", "": "v"})
    assert labels == {"owner": "me", "x-9lives": "x" * 63, "a-b-c": "unicode-value"}


def test_zone_and_disk_type_defaults(make_spec):
    assert default_zone(make_spec("gcp", region="europe-west4")) == "europe-west4-a"
    assert default_zone(make_spec("gcp", region="europe-west1")) == "europe-west1-b"
    assert default_zone(make_spec("gcp", region="europe-west4", zone="europe-west4-c")).endswith(
        "-c"
    )
    assert boot_disk_type("c4-standard-8") == "hyperdisk-balanced"
    assert boot_disk_type("g2-standard-8") == "pd-balanced"
