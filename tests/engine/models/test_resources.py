"""The resources grammar: dstack's strings and mappings, defaults, and the stricter checks."""

from __future__ import annotations

import pytest
from fleetstack.engine.models.resources import (
    GPUSpec,
    IntRange,
    ResourcesSpec,
    SizeRange,
    gpu_vendor_of,
    parse_size,
)
from pydantic import ValidationError


def gpu(value):
    return ResourcesSpec.model_validate({"gpu": value}).normalized()["gpu"]


def test_defaults_are_dstacks():
    spec = ResourcesSpec.model_validate({})
    assert spec.normalized() == {
        "cpu": {"arch": None, "count": {"min": 2, "max": None}},
        "memory": {"min": 8, "max": None},
        "shm_size": None,
        "gpu": {
            "vendor": None,
            "name": None,
            "count": {"min": 0, "max": None},
            "memory": None,
            "total_memory": None,
            "compute_capability": None,
        },
        "disk": {"size": {"min": 100, "max": None}},
    }
    assert not spec.wants_gpu
    assert ResourcesSpec.model_validate(None) == spec


def test_unconstrained_fleet_resources():
    spec = ResourcesSpec.unconstrained()
    data = spec.normalized()
    assert data["cpu"]["count"] == {"min": 1, "max": None}
    assert data["memory"] == {"min": 0, "max": None}
    assert data["disk"] is None
    assert spec.pretty() == "1..xCPU, 0GB.."


@pytest.mark.parametrize(
    ("text", "name", "memory", "count"),
    [
        ("24GB..", None, {"min": 24, "max": None}, {"min": 1, "max": None}),
        ("80GB", None, {"min": 80, "max": 80}, {"min": 1, "max": None}),
        ("A100:80GB:2", ["A100"], {"min": 80, "max": 80}, {"min": 2, "max": 2}),
        ("H100:8", ["H100"], None, {"min": 8, "max": 8}),
        ("8:H200", ["H200"], None, {"min": 8, "max": 8}),
        ("2:80GB:A100", ["A100"], {"min": 80, "max": 80}, {"min": 2, "max": 2}),
        ("A10G,L4", ["A10G", "L4"], None, {"min": 1, "max": None}),
        ("24GB..80GB:1..2", None, {"min": 24, "max": 80}, {"min": 1, "max": 2}),
        ("A100:40GB..80GB:2..8", ["A100"], {"min": 40, "max": 80}, {"min": 2, "max": 8}),
        ("..48GB", None, {"min": None, "max": 48}, {"min": 1, "max": None}),
        ("1..", None, None, {"min": 1, "max": None}),
        ("0", None, None, {"min": 0, "max": 0}),
        ("A100", ["A100"], None, {"min": 1, "max": None}),
    ],
)
def test_gpu_strings(text, name, memory, count):
    result = gpu(text)
    assert result["name"] == name
    assert result["memory"] == memory
    assert result["count"] == count


@pytest.mark.parametrize(
    ("text", "vendor"),
    [
        ("A100", "nvidia"),
        ("H100:8", "nvidia"),
        ("MI300X:8", "amd"),
        ("v5litepod-8", "google"),
        ("tpu-v3-8", "google"),
        ("nvidia:2", "nvidia"),
        ("amd", "amd"),
        ("tpu", "google"),
        ("Gaudi2", "intel"),
        ("n150", "tenstorrent"),
        ("SomeFutureGPU", "nvidia"),  # dstack: nvidia is the fallback for unknown names
        ("24GB..", None),
    ],
)
def test_vendor_inferred_from_names(text, vendor):
    assert gpu(text)["vendor"] == vendor


def test_gpu_as_int_and_mapping():
    assert gpu(2)["count"] == {"min": 2, "max": 2}
    mapping = gpu({"name": "A100", "memory": "40GB..", "count": {"min": 1, "max": 4}})
    assert mapping["name"] == ["A100"]
    assert mapping["memory"] == {"min": 40, "max": None}
    assert mapping["count"] == {"min": 1, "max": 4}
    assert gpu({"compute_capability": "9.0"})["count"] == {"min": 1, "max": None}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8..", {"arch": None, "count": {"min": 8, "max": None}}),
        (4, {"arch": None, "count": {"min": 4, "max": 4}}),
        ("arm:4", {"arch": "arm", "count": {"min": 4, "max": 4}}),
        ("4..:x86", {"arch": "x86", "count": {"min": 4, "max": None}}),
        ("arm", {"arch": "arm", "count": {"min": 2, "max": None}}),
        ({"min": 2, "max": 8}, {"arch": None, "count": {"min": 2, "max": 8}}),
    ],
)
def test_cpu(value, expected):
    assert ResourcesSpec.model_validate({"cpu": value}).normalized()["cpu"] == expected


@pytest.mark.parametrize(
    ("text", "gb"),
    [("80GB", 80), ("1TB", 1024), ("512MB", 0.5), ("16", 16), (32, 32), ("1.5GB", 1.5)],
)
def test_sizes(text, gb):
    assert parse_size(text) == gb


def test_disk_memory_shm():
    data = ResourcesSpec.model_validate(
        {"disk": "200GB..1TB", "memory": "64GB..", "shm_size": "16GB"}
    ).normalized()
    assert data["disk"] == {"size": {"min": 200, "max": 1024}}
    assert data["memory"] == {"min": 64, "max": None}
    assert data["shm_size"] == 16
    exact = ResourcesSpec.model_validate({"disk": 500}).normalized()["disk"]
    assert exact == {"size": {"min": 500, "max": 500}}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"gpu": "24GB:-1"}, "cannot be negative"),
        ({"gpu": -1}, "cannot be negative"),
        ({"disk": -10}, "cannot be negative"),
        ({"memory": "-8GB"}, "cannot be negative"),
        ({"gpu": "A100:8..2"}, "min above its max"),
        ({"disk": "1TB..100GB"}, "min above its max"),
        ({"cpu": "16..8"}, "min above its max"),
        ({"gpu": "A100:2:4"}, "twice"),
        ({"gpu": "A100::2"}, "empty part"),
        ({"gpu": "amd:A100"}, "made by nvidia"),
        ({"gpu": True}, "expected"),
        ({"gpu": {"compute_capability": "eight"}}, "8.0"),
        ({"cpu": "fast"}, "arm:4"),
        ({"memory": "plenty"}, "80GB"),
        ({"memory": ".."}, "at least one end"),
        ({"gpus": 1}, "Extra inputs"),
        ("A100", "must be a mapping"),
    ],
)
def test_rejections(raw, fragment):
    with pytest.raises(ValidationError) as info:
        ResourcesSpec.model_validate(raw)
    assert fragment in str(info.value)


def test_ranges_directly():
    assert IntRange.model_validate("2..8").model_dump() == {"min": 2, "max": 8}
    assert IntRange.model_validate(3).model_dump() == {"min": 3, "max": 3}
    assert SizeRange.model_validate("..1TB").model_dump() == {"min": None, "max": 1024.0}


def test_pretty_and_wants_gpu():
    spec = ResourcesSpec.model_validate(
        {"gpu": "A100:80GB:2", "disk": "200GB..1TB", "shm_size": "8GB"}
    )
    assert spec.wants_gpu
    assert spec.pretty() == "2..xCPU, 8GB.., 2xA100:80GB, 8GB (shm), 200GB..1TB (disk)"
    assert ResourcesSpec.model_validate({"gpu": "24GB.."}).pretty() == (
        "2..xCPU, 8GB.., 1..x24GB.., 100GB.. (disk)"
    )
    assert ResourcesSpec.model_validate({"cpu": "arm:4"}).pretty().startswith("arm:4xCPU")


def test_gpu_vendor_of():
    assert gpu_vendor_of("a100") == "nvidia"
    assert gpu_vendor_of("MI325X") == "amd"
    assert gpu_vendor_of("v6e-8") == "google"
    assert gpu_vendor_of("Quantum") is None


def test_gpuspec_round_trips_through_its_dump():
    spec = GPUSpec.model_validate("A100:40GB..80GB:2..8")
    assert GPUSpec.model_validate(spec.model_dump()) == spec
    resources = ResourcesSpec.model_validate({"gpu": "H100:8", "disk": "1TB.."})
    assert ResourcesSpec.model_validate(resources.model_dump()) == resources
