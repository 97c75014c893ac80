"""This machine's offer is a catalog row matched like any other, with local's own rules kept."""

from __future__ import annotations

from types import SimpleNamespace as N

import pytest
from fleetstack.engine.backends.config import BackendConfig, BackendsConfig
from fleetstack.engine.backends.local import backend as local
from fleetstack.engine.backends.local.host import HostGPU, HostResources
from fleetstack.engine.offers.match import Requirements, find_offers

HOST = HostResources(cpus=16, cpu_arch="x86", memory_gb=62.83, disk_gb=457.46,
                     gpus=[HostGPU("A10G", 24.0), HostGPU("A10G", 24.0)])  # fmt: skip


@pytest.fixture(autouse=True)
def host(monkeypatch, tmp_path):
    monkeypatch.setattr(local, "detect_host", lambda: HOST)
    (tmp_path / "aws.csv").write_text("instance_name,location,price,cpu,memory,gpu_count,spot\n")
    monkeypatch.setenv("GPUHUNT_CATALOG_DIR", str(tmp_path))  # a catalog without any row


def rng(lo=None, hi=None):
    return N(min=lo, max=hi)


def res(gpus=(0, None), name=None, memory=(8, None), disk=None, cc=None):
    return N(
        cpu=N(arch=None, count=rng(2, None)),
        memory=rng(*memory),
        disk=N(size=rng(*disk)) if disk else None,
        gpu=N(
            vendor=None,
            name=name,
            count=rng(*gpus),
            memory=None,
            total_memory=None,
            compute_capability=cc,
        ),  # fmt: skip
        wants_gpu=gpus[0] > 0,
        pretty=lambda: "these resources",
    )


def local_offers(resources, **kwargs):
    req = Requirements(resources, backends=["local"], **kwargs)
    return find_offers(req, config=BackendsConfig()).offers


def test_the_host_offer_is_free_rounded_and_counts_its_gpus():
    [offer] = local_offers(res(gpus=(2, 2), name=["A10G"]))
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
        (res(), {"nodes": 2}),
        (res(), {"spot_policy": "spot"}),
        (res(), {"regions": ["us-east-1"]}),
        (res(memory=(64, None)), {}),
        (res(disk=(500, None)), {}),
        (res(gpus=(3, None)), {}),
        (res(gpus=(1, None), name=["H100"]), {}),
        (res(gpus=(1, None), cc="9.0"), {}),
    ],
)
def test_requirements_the_host_does_not_meet_leave_no_local_offer(resources, kwargs):
    assert local_offers(resources, **kwargs) == []


def test_local_rules_that_keep_the_offer():
    assert local_offers(res(), regions=["local"], spot_policy="auto")
    assert local_offers(res(), instance_types=["g5.xlarge"])  # one fixed machine: not filtered
    assert local_offers(res(disk=(400, 460)))


def test_no_local_offer_when_a_cloud_is_configured_and_local_not_asked():
    config = BackendsConfig(backends=[BackendConfig(type="aws")])
    assert find_offers(Requirements(res()), config=config).offers == []
