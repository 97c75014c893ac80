"""This machine's offer is a catalog row matched like any other, with local's own rules kept."""

from __future__ import annotations

import pytest
from fleetstack.engine.backends.config import BackendConfig, BackendsConfig
from fleetstack.engine.backends.local import backend as local
from fleetstack.engine.backends.local.host import HostGPU, HostResources
from fleetstack.engine.offers.match import Requirements, find_offers

from ..resources_asked import asked

HOST = HostResources(cpus=16, cpu_arch="x86", memory_gb=62.83, disk_gb=457.46,
                     gpus=[HostGPU("A10G", 24.0), HostGPU("A10G", 24.0)])  # fmt: skip


@pytest.fixture(autouse=True)
def host(monkeypatch, tmp_path):
    monkeypatch.setattr(local, "detect_host", lambda: HOST)
    (tmp_path / "aws.csv").write_text("instance_name,location,price,cpu,memory,gpu_count,spot\n")
    monkeypatch.setenv("GPUHUNT_CATALOG_DIR", str(tmp_path))  # a catalog without any row


def local_offers(resources, **kwargs):
    req = Requirements(resources, backends=["local"], **kwargs)
    return find_offers(req, config=BackendsConfig()).offers


def test_the_host_offer_is_free_rounded_and_counts_its_gpus():
    [offer] = local_offers(asked(gpu_count=(2, 2), gpu_name=["A10G"]))
    assert (offer.backend, offer.region, offer.instance_type, offer.price) == (
        "local", "local", "local", 0.0,
    )  # fmt: skip
    assert (offer.memory_gb, offer.disk_gb, offer.gpu_count, offer.gpu_name) == (
        62.8, 457.5, 2, "A10G",
    )  # fmt: skip
    assert offer.backend_configured


@pytest.mark.parametrize(
    "resources, kwargs",
    [
        (asked(), {"nodes": 2}),
        (asked(), {"spot_policy": "spot"}),
        (asked(), {"regions": ["us-east-1"]}),
        (asked(memory=(64, None)), {}),
        (asked(disk=(500, None)), {}),
        (asked(gpu_count=(3, None)), {}),
        (asked(gpu_count=(1, None), gpu_name=["H100"]), {}),
        (asked(gpu_count=(1, None), cc="9.0"), {}),
    ],
)
def test_requirements_the_host_does_not_meet_leave_no_local_offer(resources, kwargs):
    assert local_offers(resources, **kwargs) == []


def test_local_rules_that_keep_the_offer():
    assert local_offers(asked(), regions=["local"], spot_policy="auto")
    assert local_offers(asked(), instance_types=["g5.xlarge"])  # one fixed machine: not filtered
    assert local_offers(asked(disk=(400, 460)))


def test_no_local_offer_when_a_cloud_is_configured_and_local_not_asked():
    config = BackendsConfig(backends=[BackendConfig(type="aws")])
    assert find_offers(Requirements(asked()), config=config).offers == []
