"""`dstack offer` as a user runs it, on a small catalog written here (and on the embedded one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fleetstack.cli.main import app
from typer.testing import CliRunner

DSTACK = Path(sys.executable).parent / "dstack"
CATALOG = "offer"  # tests/cli/catalogs/offer/: gpuhunt CSVs, one per provider
runner = CliRunner()


@pytest.fixture(autouse=True)
def catalog(use_catalog):
    # aws and gcp configured: azure offers are listed but marked, and `local` is off
    return use_catalog(CATALOG, backends=["aws", "gcp"])


def offer(*args: str) -> str:
    result = runner.invoke(app, ["offer", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def offers(*args: str) -> list[tuple]:
    data = json.loads(offer(*args, "--json"))
    return [
        (o["backend"], o["region"], o["instance"], o["spot"], o["price"]) for o in data["offers"]
    ]


def instances(*args: str) -> list[str]:
    return [o[2] for o in offers(*args)]


def test_resources_flags_filter_offers():
    assert instances("--gpu", "A10G") == ["g5.xlarge", "g5.xlarge"]  # on-demand by default
    assert set(instances("--gpu", "80GB:8")) == {
        "a2-ultragpu-8g",
        "Standard_ND96amsr_A100_v4",
        "p4de.24xlarge",
        "p5.48xlarge",
    }
    assert set(instances("--gpu", "24GB..", "--cpu", "8..")) >= {"g2-standard-8", "p5.48xlarge"}
    assert "g5.xlarge" not in instances("--gpu", "1..", "--cpu", "8..")
    assert instances("--cpu", "arm:4") == ["m7g.xlarge"]
    assert set(instances("--memory", "1500GB..")) == {
        "Standard_ND96amsr_A100_v4",
        "p5.48xlarge",
    }
    # a disk of 200GB..: rows with a 100GB disk go, rows without a disk figure stay
    assert set(instances("--gpu", "1..", "--disk", "200GB..")) == {
        "g2-standard-8",
        "a2-ultragpu-8g",
        "Standard_NC24ads_A100_v4",
        "Standard_ND96amsr_A100_v4",
    }


def test_backend_region_and_instance_type_flags():
    assert {o[0] for o in offers("--gpu", "1..", "-b", "gcp")} == {"gcp"}
    assert {o[0] for o in offers("--gpu", "1..", "-b", "gcp", "-b", "azure")} == {"gcp", "azure"}
    assert {o[1] for o in offers("--gpu", "1..", "-r", "eu-west-1")} == {"eu-west-1"}
    assert instances("--gpu", "1..", "--instance-type", "p5.48xlarge") == ["p5.48xlarge"]


def test_spot_policy_flags():
    assert {o[3] for o in offers("--gpu", "A100:8")} == {False}  # dstack's default: on-demand
    assert {o[3] for o in offers("--gpu", "A100:8", "--on-demand")} == {False}
    assert offers("--gpu", "A100:8", "--spot") == [
        ("gcp", "us-central1", "a2-ultragpu-8g", True, 12.16)
    ]
    auto = offers("--gpu", "A100:8", "--spot-auto")
    assert {o[3] for o in auto} == {True, False} and auto[0][3] is True
    assert [o[4] for o in auto] == sorted(o[4] for o in auto)


def test_max_price_and_max_offers():
    assert [o[4] for o in offers("--gpu", "1..", "--max-price", "1")] == [0.85, 0.93]
    data = json.loads(offer("--gpu", "1..", "--max-offers", "2", "--json"))
    assert len(data["offers"]) == 2 and data["total_offers"] == 9
    text = offer("--gpu", "1..", "--max-offers", "2")
    assert "Shown 2 of 9 offers" in text


def test_json_structure():
    data = json.loads(offer("--gpu", "A10G", "--spot-auto", "--json"))
    assert set(data) == {"requirements", "offers", "total_offers"}
    assert data["total_offers"] == 3 and len(data["offers"]) == 3
    assert data["requirements"]["spot_policy"] == "auto"
    assert data["requirements"]["resources"]["gpu"]["name"] == ["A10G"]
    first = data["offers"][0]
    assert {"backend", "region", "instance", "resources", "spot", "price"} <= set(first)
    assert first == {
        "backend": "aws",
        "region": "us-east-1",
        "instance": "g5.xlarge",
        "resources": {
            "cpus": 4,
            "cpu_arch": "x86",
            "memory_gb": 16.0,
            "disk_gb": 100.0,
            "gpus": [{"vendor": "nvidia", "name": "A10G", "memory_gb": 24.0}],
            "description": "4xCPU, 16GB, 1xA10G (24GB), 100GB (disk)",
        },
        "spot": True,
        "price": 0.3018,
        "node_price": 0.3018,
        "backend_configured": True,
    }


def test_table_header_prices_and_unconfigured_backends_are_marked():
    lines = offer("--gpu", "A100").splitlines()
    assert lines[0].startswith("GPUHUNT_CATALOG_DIR catalog")
    assert "Spot policy: on-demand" in lines[1]
    header = next(line for line in lines if "BACKEND" in line)
    assert header.split() == ["#", "BACKEND", "REGION", "INSTANCE", "RESOURCES", "SPOT", "PRICE"]
    rows = lines[lines.index(header) + 1 :]
    assert rows[0].split()[:4] == ["1", "azure", "(not", "configured)"]
    assert rows[0].rstrip().endswith("no    $3.673")
    assert any("gcp " in r and "not configured" not in r and "$40.55" in r for r in rows)
    assert (
        json.loads(offer("--gpu", "A100", "-b", "azure", "--json"))["offers"][0][
            "backend_configured"
        ]
        is False
    )


def group_table(*group_by: str) -> list[list[str]]:
    args = [a for g in group_by for a in ("--group-by", g)]
    lines = offer("--gpu", "1..", "--spot-auto", *args).splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("#"))
    return [line.split() for line in lines[header:] if line.strip()]


def test_group_by_gpu_backend_region():
    by_gpu = group_table("gpu")
    assert by_gpu[0] == ["#", "GPU", "COUNT", "SPOT", "OFFERS", "PRICE"]
    assert by_gpu[1] == ["1", "A10G", "(24GB)", "1", "auto", "3", "$0.3018..$1.123"]
    assert {tuple(r[1:4]) for r in by_gpu[1:]} == {
        ("A10G", "(24GB)", "1"),
        ("L4", "(24GB)", "1"),
        ("A100", "(80GB)", "1,8"),
        ("H100", "(80GB)", "8"),
    }
    by_backend = group_table("gpu,backend")
    assert by_backend[0] == ["#", "GPU", "BACKEND", "COUNT", "SPOT", "OFFERS", "PRICE"]
    assert ["A100", "(80GB)", "gcp", "8", "auto", "2", "$12.16..$40.55"] in [
        r[1:] for r in by_backend
    ]
    by_region = group_table("gpu,backend,region")
    assert by_region[0] == ["#", "GPU", "BACKEND", "REGION", "COUNT", "SPOT", "OFFERS", "PRICE"]
    assert ["L4", "(24GB)", "gcp", "europe-west4", "1", "no", "1", "$0.93"] in [
        r[1:] for r in by_region
    ]


def test_group_by_count_splits_each_gpu_by_its_count():
    by_gpu = {tuple(r[1:4]): r[4:] for r in group_table("gpu")[1:]}
    by_count = {tuple(r[1:4]): r[4:] for r in group_table("gpu,count")[1:]}
    assert set(by_count) == {
        ("A10G", "(24GB)", "1"),
        ("L4", "(24GB)", "1"),
        ("A100", "(80GB)", "1"),
        ("A100", "(80GB)", "8"),
        ("H100", "(80GB)", "8"),
    }
    # the two A100 rows share out the offers of the one A100 row of --group-by gpu
    one, eight = by_count[("A100", "(80GB)", "1")], by_count[("A100", "(80GB)", "8")]
    assert int(one[1]) + int(eight[1]) == int(by_gpu[("A100", "(80GB)", "1,8")][1])
    # repeated --group-by is the same as comma-separated
    assert group_table("gpu", "count") == group_table("gpu,count")
    assert group_table("count", "gpu")[0] == ["#", "GPU", "COUNT", "SPOT", "OFFERS", "PRICE"]


def test_a_profile_fills_in_what_flags_leave_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dstack").mkdir()
    (tmp_path / ".dstack" / "profiles.yml").write_text(
        "profiles:\n"
        "  - name: gcp-spot\n    default: true\n    backends: [gcp]\n    spot_policy: spot\n"
        "  - name: azure\n    backends: [azure]\n"
    )
    assert offers("--gpu", "A100:8") == [("gcp", "us-central1", "a2-ultragpu-8g", True, 12.16)]
    assert {o[0] for o in offers("--gpu", "A100:8", "--profile", "azure")} == {"azure"}
    assert {(o[0], o[3]) for o in offers("--gpu", "A100:8", "--no-profile")} == {
        ("gcp", False),
        ("azure", False),
        ("aws", False),
    }
    # a flag wins over the profile
    assert {o[3] for o in offers("--gpu", "A100:8", "--on-demand")} == {False}
    conf = tmp_path / "train.dstack.yml"
    conf.write_text("type: task\ncommands: [python train.py]\nresources:\n  gpu: A100:8\n")
    assert {o[0] for o in offers("-f", str(conf), "--profile", "azure")} == {"azure"}
    assert {o[0] for o in offers("-f", str(conf), "--no-profile")} == {"gcp", "azure", "aws"}


def test_requirements_from_a_configuration_file_and_flags_over_it(tmp_path):
    conf = tmp_path / "train.dstack.yml"
    conf.write_text(
        "type: task\ncommands: [python train.py]\nresources:\n  gpu: A100:80GB:8\n"
        "backends: [gcp, azure]\nspot_policy: auto\n"
    )
    assert offers("-f", str(conf)) == [
        ("gcp", "us-central1", "a2-ultragpu-8g", True, 12.16),
        ("azure", "eastus", "Standard_ND96amsr_A100_v4", False, 32.77),
        ("gcp", "us-central1", "a2-ultragpu-8g", False, 40.55),
    ]
    assert instances("-f", str(conf), "--gpu", "L4", "--on-demand") == [
        "g2-standard-8",
        "g2-standard-8",
    ]


def test_no_offers_explains_which_requirement_emptied_the_list():
    assert "no offer has 8 × H100 under max_price $20" in offer(
        "--gpu", "H100:8", "--max-price", "20"
    )


def dstack(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DSTACK), *args], capture_output=True, text=True, timeout=60, env=env or os.environ
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gpu", "junk"], "--gpu: unknown GPU name 'junk'"),
        (["--gpu", "24GB:-1"], "--gpu 24GB:-1: a count cannot be negative"),
        (["--memory", "lots"], "--memory lots: "),
        (["-b", "nimbus"], "-b nimbus: unknown backend; use one of aws, azure,"),
        (["-f", "missing.dstack.yml"], "missing.dstack.yml: no such file"),
        (["--spot", "--on-demand"], "--spot and --on-demand: give one spot policy flag"),
        (["--group-by", "region"], "--group-by region: include gpu, e.g. --group-by gpu,region"),
        (["--group-by", "gpu,zone"], "--group-by zone: use gpu, backend, region or count"),
        (["--group-by", "gpu,region"], "region needs backend too, e.g. --group-by gpu,backend,"),
        (["--profile", "nope"], "no profile named 'nope'"),
        (["--profile", "a", "--no-profile"], "--profile and --no-profile: give one of them"),
        (["--fleet", "f1"], "--fleet is not supported yet: choosing the fleets a run may use"),
    ],
)
def test_bad_input_is_one_red_line_and_exit_1(args, message):
    result = dstack("offer", *args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert "BACKEND" not in result.stdout


def test_embedded_snapshot_answers_8_a100_80gb_offline(monkeypatch):
    env = {k: v for k, v in os.environ.items() if k != "GPUHUNT_CATALOG_DIR"}
    # no network: gpuhunt's live catalog and any proxy point nowhere
    env |= {
        "GPUHUNT_CATALOG_URL": "http://127.0.0.1:9/nowhere",
        "https_proxy": "http://127.0.0.1:9",
    }
    result = dstack("offer", "--gpu", "A100:80GB:8", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total_offers"] >= 1
    for o in data["offers"]:
        gpus = o["resources"]["gpus"]
        assert len(gpus) == 8 and {(g["name"], g["memory_gb"]) for g in gpus} == {("A100", 80.0)}
    text = dstack("offer", "--gpu", "A100:80GB:8", env=env).stdout
    assert text.startswith("embedded catalog 20")  # the snapshot's date


def test_commands_that_need_no_offers_never_load_the_catalog(tmp_path):
    conf = tmp_path / "a.dstack.yml"
    conf.write_text("type: task\ncommands: [echo hi]\n")
    for args in (["--help"], ["validate", "-f", str(conf)]):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "fleetstack.cli.main", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert "gpuhunt" not in result.stderr and "catalog_rows" not in result.stderr


def test_offers_without_a_fixed_disk_get_the_disk_that_is_asked_for():
    data = json.loads(offer("--gpu", "L4", "--disk", "250GB..", "--json"))
    assert {o["resources"]["disk_gb"] for o in data["offers"]} == {250.0}
    assert data["offers"][0]["resources"]["description"].endswith("1xL4 (24GB), 250GB (disk)")
