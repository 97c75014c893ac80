"""Every view of an offer says the same figures: the catalog's price to the last digit, and
the disk its stack would create."""

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
# prices with more digits than a table shows; aws rows have no fixed disk (an EBS volume)
CATALOG = "figures"  # tests/cli/catalogs/figures/: gpuhunt CSVs, one per provider
runner = CliRunner()


@pytest.fixture(autouse=True)
def catalog(use_catalog, tmp_path, monkeypatch):
    use_catalog(CATALOG, backends=["aws", "lambdalabs"])
    monkeypatch.chdir(tmp_path)


def test_offer_json_prices_are_the_catalogs_to_the_last_digit():
    proc = subprocess.run(
        [str(DSTACK), "offer", "--json", "--cpu", "1.."],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    prices = {o["instance"]: o["price"] for o in json.loads(proc.stdout)["offers"]}
    assert prices == {"t3.large": 0.20166, "g5.xlarge": 1.006125, "gpu_8x_h100_sxm5": 113.06844}
    assert '"price": 0.20166,' in proc.stdout  # the text a pipeline reads, not a rounding


def test_a_fleets_price_is_exact_for_its_nodes(tmp_path):
    fleet = tmp_path / "f.dstack.yml"
    fleet.write_text("type: fleet\nnodes: 3\nresources:\n  cpu: 2\n  memory: 8GB\n")
    result = runner.invoke(app, ["offer", "-f", str(fleet), "--json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.output)["offers"][0]
    assert (first["instance"], first["price"], first["node_price"]) == (
        "t3.large",
        0.60498,
        0.20166,
    )


def test_the_offer_shows_the_disk_its_stack_creates(tmp_path):
    task = tmp_path / "small.dstack.yml"
    task.write_text(
        "type: task\nname: small\ncommands: [echo hi]\n"
        "resources:\n  cpu: 1..\n  memory: 1GB..\n  disk: 1GB..\n"
    )
    plan = runner.invoke(app, ["apply", "-f", str(task), "-b", "aws", "--dry-run"])
    assert plan.exit_code == 0, plan.output
    # the offers table's row (the Placement row above it names the instance type too)
    row = next(line for line in plan.output.splitlines() if "t3.large" in line and "xCPU" in line)
    assert "2xCPU, 8GB, 8GB (disk)" in row  # the 8GB volume, not the 1GB asked
    assert "disk=8GB" in plan.output  # the stack's resource plan
    listed = runner.invoke(app, ["offer", "-f", str(task), "-b", "aws", "--json"])
    offer = json.loads(listed.output)["offers"][0]
    assert offer["resources"]["disk_gb"] == 8
    assert offer["resources"]["description"] == "2xCPU, 8GB, 8GB (disk)"


def test_a_fixed_disk_is_shown_as_the_catalog_has_it():
    result = runner.invoke(app, ["offer", "--gpu", "H100:8", "--json"])
    offer = json.loads(result.output)["offers"][0]
    assert (offer["instance"], offer["resources"]["disk_gb"]) == ("gpu_8x_h100_sxm5", 512.0)
