"""The decisions every cloud program shares: ports, images, prices, names, spec checks."""

from __future__ import annotations

import pytest
from fleetstack.stacks.common import (
    check_spec,
    format_price,
    inbound_ports,
    node_names,
    wants_nvidia_image,
)
from fleetstack.stacks.errors import StackError


def test_only_ssh_is_opened_whatever_ports_the_task_has(make_spec):
    assert inbound_ports(make_spec("aws")) == [22]
    assert inbound_ports(make_spec("aws", ports=(8000, 22, 80, 8000))) == [22]


def test_only_nvidia_gpus_want_the_driver_image(make_spec):
    assert wants_nvidia_image(make_spec("aws", gpu_count=1, gpu_name="A10G"))
    assert wants_nvidia_image(make_spec("aws", gpu_count=1, gpu_vendor="NVIDIA"))
    assert not wants_nvidia_image(make_spec("aws", gpu_count=1, gpu_vendor="amd"))
    assert not wants_nvidia_image(make_spec("aws", gpu_vendor="nvidia"))  # no GPU asked


@pytest.mark.parametrize(
    ("price", "text"), [(0.5, "0.5"), (12.0, "12"), (1.2345, "1.2345"), (0.00001, "0.00001")]
)
def test_prices_are_plain_decimals(price, text):
    assert format_price(price) == text


def test_node_names_are_prefixed_and_ordered(make_spec):
    spec = make_spec("aws", nodes=2)
    assert node_names(spec) == [f"{spec.resource_prefix}-node-0", f"{spec.resource_prefix}-node-1"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nodes": 0}, "nodes is 0"),
        ({"disk_gb": 0}, "disk size is 0 GB"),
        ({"ssh_public_key": "  "}, "no SSH public key"),
    ],
)
def test_impossible_specs_are_refused_with_the_field(make_spec, overrides, message):
    with pytest.raises(StackError, match=message):
        check_spec(make_spec("aws", **overrides))


def test_a_program_refuses_an_impossible_spec_before_declaring_anything(make_spec, run_program):
    with pytest.raises(StackError, match="nodes is 0"):
        run_program(make_spec("azure", nodes=0))


@pytest.mark.parametrize(
    ("cloud", "region", "instance_type", "size_kb", "limit_text"),
    [
        ("azure", "eastus", "Standard_D4s_v5", 70, "Azure custom data accepts 63 KB"),
        ("gcp", "us-central1", "n2-standard-4", 300, "a GCP metadata value accepts 256 KB"),
    ],
)
def test_a_boot_script_over_the_clouds_limit_is_refused_before_anything_is_declared(
    make_spec, run_program, cloud, region, instance_type, size_kb, limit_text
):
    spec = make_spec(
        cloud, region=region, instance_type=instance_type, user_data="#" * (size_kb * 1024)
    )
    with pytest.raises(StackError, match=limit_text):
        run_program(spec)
