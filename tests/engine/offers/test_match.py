"""Matching on a small hand-written catalog (a tmp GPUHUNT_CATALOG_DIR)."""

import pytest
from fleetstack.engine.backends.config import BackendConfig, BackendsConfig
from fleetstack.engine.offers.match import Requirements, find_offers

from ..resources_asked import asked

HEADER = "instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,disk_size,gpu_vendor,flags,cpu_arch,provider_data\n"  # noqa: E501
AWS = [
    "g5.xlarge,us-east-1,1.0,4,16.0,1,A10G,24.0,False,100.0,nvidia,,x86,{}",
    "g5.xlarge,us-east-1,0.4,4,16.0,1,A10G,24.0,True,100.0,nvidia,,x86,{}",
    "g5.xlarge,eu-west-1,1.1,4,16.0,1,A10G,24.0,False,100.0,nvidia,,x86,{}",
    "p4de.24xlarge,us-east-1,41.0,96,1152.0,8,A100,80.0,False,100.0,nvidia,,x86,{}",
    "p5.48xlarge,us-east-1,98.0,192,2048.0,8,H100,80.0,False,100.0,nvidia,,x86,{}",
    "m5.large,us-east-1,0.096,2,8.0,0,,,False,100.0,,,x86,{}",
    "m7g.large,us-east-1,0.08,2,8.0,0,,,False,100.0,,,arm,{}",
]
GCP = [
    "g2-standard-4,us-central1,1.0,8,32.0,1,L4,24.0,False,50.0,nvidia,,x86,{}",
    "a2-highgpu-1g,us-central1,3.6,12,85.0,1,A100,40.0,False,100.0,nvidia,,x86,{}",
]
NO_LOCAL = BackendsConfig(backends=[BackendConfig(type="aws"), BackendConfig(type="gcp")])


@pytest.fixture(autouse=True)
def catalog(tmp_path, monkeypatch):
    (tmp_path / "aws.csv").write_text(HEADER + "\n".join(AWS) + "\n")
    (tmp_path / "gcp.csv").write_text(HEADER + "\n".join(GCP) + "\n")
    monkeypatch.setenv("GPUHUNT_CATALOG_DIR", str(tmp_path))


def names(req, config=NO_LOCAL):
    return [
        (o.backend, o.region, o.instance_type, o.spot)
        for o in find_offers(req, config=config).offers
    ]


def test_gpu_name_and_count_and_default_on_demand():
    req = Requirements(asked(gpu_count=(8, 8), gpu_name=["A100"]))
    assert names(req) == [("aws", "us-east-1", "p4de.24xlarge", False)]


def test_gpu_memory_and_total_memory():
    assert {n[2] for n in names(Requirements(asked((1, None), gpu_memory=(80, None))))} == {
        "p4de.24xlarge",
        "p5.48xlarge",
    }
    req = Requirements(asked((1, None), total=(600, None)))
    assert [n[2] for n in names(req)] == ["p4de.24xlarge", "p5.48xlarge"]


def test_cpu_arch_memory_and_disk():
    assert names(Requirements(asked(arch="arm")))[0][2] == "m7g.large"
    assert "g2-standard-4" not in [
        n[2] for n in names(Requirements(asked((1, 1), disk=(100, None))))
    ]
    assert [n[2] for n in names(Requirements(asked((1, 1), memory=(30, 40))))] == ["g2-standard-4"]


def test_spot_policies_and_sorting():
    res = asked((1, 1), gpu_name=["A10G"])
    assert [n[3] for n in names(Requirements(res, spot_policy="spot"))] == [True]
    auto = find_offers(Requirements(res, spot_policy="auto"), config=NO_LOCAL).offers
    assert [o.price for o in auto] == sorted(o.price for o in auto) and auto[0].spot


def test_backends_regions_instance_types_and_max_price():
    res = asked((1, None))
    assert {n[0] for n in names(Requirements(res, backends=["gcp"]))} == {"gcp"}
    assert {n[1] for n in names(Requirements(res, regions=["eu-west-1"]))} == {"eu-west-1"}
    assert {n[2] for n in names(Requirements(res, instance_types=["p5.48xlarge"]))} == {
        "p5.48xlarge"
    }
    assert (
        max(o.price for o in find_offers(Requirements(res, max_price=2), config=NO_LOCAL).offers)
        <= 2
    )


def test_max_price_is_per_instance_as_in_dstack():
    req = Requirements(asked((1, 1), gpu_name=["A10G"]), max_price=1.05, nodes=2)
    assert [n[1] for n in names(req)] == ["us-east-1"]  # 1.0 fits, 1.1 does not, per node


def test_empty_list_names_the_requirement_that_emptied_it():
    req = Requirements(asked((8, 8), gpu_name=["H100"]), max_price=20)
    result = find_offers(req, config=NO_LOCAL)
    assert (
        result.offers == [] and result.empty_reason == "no offer has 8 × H100 under max_price $20"
    )


def test_unconfigured_backends_are_marked_and_local_offered_by_default():
    result = find_offers(
        Requirements(asked(cpu=(1, None), memory=(0, None))), config=BackendsConfig()
    )
    assert result.offers[0].backend == "local" and result.offers[0].price == 0
    assert not any(o.backend_configured for o in result.offers if o.backend != "local")


def test_local_is_single_node():
    req = Requirements(asked(cpu=(1, None), memory=(0, None)), backends=["local"], nodes=2)
    assert find_offers(req, config=BackendsConfig()).offers == []


def test_spot_policy_defaults_to_on_demand_for_runs_and_fleets_as_in_dstack():
    from fleetstack.engine.config import CONFIGURATION_TYPES

    required = {"service": {"port": 8000}, "fleet": {"nodes": 1}}
    for kind in ("task", "service", "dev-environment", "fleet"):
        configuration = CONFIGURATION_TYPES[kind].model_validate(
            {"type": kind, "commands": ["true"], **required.get(kind, {})}
            if kind in ("task", "service")
            else {"type": kind, **required.get(kind, {})}
        )
        assert Requirements.from_configuration(configuration).spot_policy == "on-demand"
    spot = CONFIGURATION_TYPES["fleet"].model_validate(
        {"type": "fleet", "spot_policy": "spot", "nodes": {"min": 2, "max": 4}}
    )
    req = Requirements.from_configuration(spot)
    assert (req.spot_policy, req.nodes) == ("spot", 2)


def test_prices_print_like_dstack_without_float_noise():
    from fleetstack.engine.models.offers import format_price

    assert [format_price(p) for p in (0.1 + 0.2, 0.096, 2.99, 113.068, 40.96 * 8, 0, 1.23456)] == [
        "$0.3", "$0.096", "$2.99", "$113.068", "$327.68", "$0", "$1.2346",
    ]  # fmt: skip


def test_offers_are_built_when_read_and_the_local_offer_sorts_in_by_price():
    result = find_offers(Requirements(asked(cpu=(1, None), memory=(0, None))))
    offers = result.offers
    assert len(offers) == result.total == 9  # 8 on-demand catalog rows + local
    assert offers[0].backend == "local" and offers[-1].instance_type == "p5.48xlarge"
    assert [o.price for o in offers[:3]] == [0.0, 0.08, 0.096]
    assert offers[1:3] == [offers[1], offers[2]] and offers != []
    assert [o.instance_type for o in offers][-2:] == ["p4de.24xlarge", "p5.48xlarge"]


def test_same_price_more_generous_first():
    req = Requirements(asked((1, None)), backends=["gcp", "aws"], spot_policy="on-demand")
    same_price = [(n[0], n[2]) for n in names(req)][:2]
    # g5.xlarge (aws, 1.0, 4 CPUs) and g2-standard-4 (gcp, 1.0, 8 CPUs): more CPUs first
    assert same_price == [("gcp", "g2-standard-4"), ("aws", "g5.xlarge")]
