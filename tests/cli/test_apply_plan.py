"""The plan of `dstack apply -f FILE --dry-run`: properties, offers, the summary line, no offers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fleetstack.cli.main import app
from typer.testing import CliRunner

DSTACK = Path(sys.executable).parent / "dstack"
# backends without a stack program: the plan stops at the offers (no resource plan to compute)
CATALOG = "plan"  # tests/cli/catalogs/plan/: gpuhunt CSVs, one per provider
OFFERS_HEADER = ["#", "BACKEND", "REGION", "INSTANCE", "RESOURCES", "SPOT", "PRICE"]
runner = CliRunner()


@pytest.fixture(autouse=True)
def catalog(use_catalog, tmp_path, monkeypatch):
    use_catalog(CATALOG, backends=["lambdalabs", "runpod"])
    monkeypatch.chdir(tmp_path)


def conf(tmp_path: Path, text: str, name: str = "train.dstack.yml") -> str:
    path = tmp_path / name
    path.write_text("type: task\nname: train\ncommands: [python train.py]\n" + text)
    return str(path)


def plan(*args: str) -> list[str]:
    result = runner.invoke(app, ["apply", *args, "--dry-run"])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output.splitlines()


def properties(lines: list[str]) -> dict[str, str]:
    props = {}
    for line in lines[: lines.index("")]:
        key, _, value = line.strip().partition("  ")
        props[key] = value.strip()
    return props


def offer_rows(lines: list[str]) -> list[list[str]]:
    start = next(i for i, line in enumerate(lines) if line.split() == OFFERS_HEADER)
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip() or not line.split()[0].isdigit():
            break
        rows.append(line.split())
    return rows


def summary(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("Shown "))


def test_properties_table_offers_table_and_summary(tmp_path):
    lines = plan("-f", conf(tmp_path, "resources:\n  gpu: 24GB..\nmax_duration: 2h\n"))
    props = properties(lines)
    assert props == {
        "Configuration": str(tmp_path / "train.dstack.yml"),
        "Type": "task",
        "Resources": "2..xCPU, 8GB.., 1..x24GB.., 100GB.. (disk)",
        "Spot policy": "on-demand",
        "Max price": "-",
        "Retry": "no",
        "Idle duration": "5m",
        "Max duration": "2h",
        "Nodes": "1",
    }
    rows = offer_rows(lines)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("1", "runpod", "US-KS-2"),
        ("2", "lambdalabs", "us-east-1"),
        ("3", "runpod", "EU-SE-1"),
    ]
    assert [r[-2:] for r in rows] == [["no", "$0.43"], ["no", "$0.75"], ["no", "$0.79"]]
    assert summary(lines) == "Shown 3 of 8 offers, $23.92 max"
    assert not any("Submit the run" in line for line in lines)


def test_max_offers_and_spot_flags(tmp_path):
    file = conf(tmp_path, "resources:\n  gpu: 24GB..\n")
    lines = plan("-f", file, "--max-offers", "5", "--spot-auto")
    assert len(offer_rows(lines)) == 5
    assert [r[-2:] for r in offer_rows(lines)[:2]] == [["no", "$0.43"], ["yes", "$0.49"]]
    assert summary(lines) == "Shown 5 of 9 offers, $23.92 max"
    assert properties(lines)["Spot policy"] == "auto"
    lines = plan("-f", file, "--spot")
    assert summary(lines) == "Shown 1 of 1 offers, $0.49 max"


def test_nodes_multiply_prices_and_the_max(tmp_path):
    lines = plan("-f", conf(tmp_path, "nodes: 2\nresources:\n  gpu: A100:80GB:8\n"))
    assert properties(lines)["Nodes"] == "2"
    assert offer_rows(lines)[0][-1] == "$28.64"  # 14.32 per node
    assert summary(lines) == "Shown 1 of 1 offers, $28.64 max"


def test_no_offers_names_the_requirement_that_emptied_the_list(tmp_path):
    lines = plan("-f", conf(tmp_path, "resources:\n  gpu: H100:8\nmax_price: 20\n"))
    assert properties(lines)["Max price"] == "$20"
    assert lines[-1] == "no offer has 8 × H100 under max_price $20"
    assert not any(line.split() == OFFERS_HEADER for line in lines)
    lines = plan("-f", conf(tmp_path, "resources:\n  gpu: H100:8\nspot_policy: spot\n"))
    assert lines[-1] == "no offer has 8 × H100 with spot_policy spot"
    lines = plan("-f", conf(tmp_path, "resources:\n  gpu: A10\nregions: [eu-north-1]\n"))
    assert lines[-1] == "no offer has 1 × A10 in regions eu-north-1"


def test_cli_flags_win_over_the_file_and_its_profile(tmp_path):
    (tmp_path / ".dstack").mkdir()
    (tmp_path / ".dstack" / "profiles.yml").write_text(
        "profiles:\n  - name: cheap\n    default: true\n    spot_policy: spot\n    max_price: 0.5\n"
    )
    file = conf(tmp_path, "resources:\n  gpu: 24GB..\n")
    props = properties(plan("-f", file))
    assert (props["Spot policy"], props["Max price"]) == ("spot", "$0.5")
    lines = plan("-f", file, "--on-demand", "--max-price", "1", "-b", "lambdalabs")
    props = properties(lines)
    assert (props["Spot policy"], props["Max price"]) == ("on-demand", "$1")
    assert {r[1] for r in offer_rows(lines)} == {"lambdalabs"}
    assert summary(lines) == "Shown 2 of 2 offers, $0.8 max"
    lines = plan("-f", file, "--on-demand", "--max-price", "1", "-r", "EU-SE-1",
                 "--instance-type", "NVIDIA RTX A6000")  # fmt: skip
    assert [r[-2:] for r in offer_rows(lines)] == [["no", "$0.79"]]


def test_build_plan_carries_the_overridden_configuration(tmp_path):
    from fleetstack.engine.config import load_configuration
    from fleetstack.engine.services.plan import build_plan

    loaded = load_configuration(conf(tmp_path, "resources:\n  gpu: A10\nspot_policy: spot\n"))
    built = build_plan(loaded, {"spot_policy": "on-demand", "regions": None, "max_price": 2.0})
    assert built.configuration.spot_policy == "on-demand" and built.configuration.max_price == 2.0
    assert built.requirements.spot_policy == "on-demand"
    assert (built.offers.total, built.max_price, built.run_name) == (2, 0.8, "train")


def test_dry_run_in_a_real_process_and_bad_input(tmp_path):
    file = conf(tmp_path, "resources:\n  gpu: A100:80GB:8\n")
    result = subprocess.run(
        [str(DSTACK), "apply", "-f", file, "--dry-run"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Configuration", file]
    assert any(line.split() == OFFERS_HEADER for line in lines)
    assert "Shown 1 of 1 offers, $14.32 max" in lines
    for args, message in (
        (["--max-price", "-1"], "--max-price: "),
        (["-b", "nimbus"], "-b nimbus: unknown backend"),
    ):
        bad = subprocess.run(
            [str(DSTACK), "apply", "-f", file, "--dry-run", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert bad.returncode == 1 and "Traceback" not in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1 and message in bad.stderr
