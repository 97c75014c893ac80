"""`dstack apply` of cloud fleets as a user runs it: no credentials, no Pulumi CLI on PATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DSTACK = str(Path(sys.executable).parent / "dstack")


def dstack(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # The venv's bin first, then the system: never a pulumi binary, never cloud credentials.
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    for name in list(env):
        if name.startswith(("AWS_", "GOOGLE_", "AZURE_", "ARM_", "PULUMI_")):
            del env[name]
    return subprocess.run(
        [DSTACK, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_dry_run_of_the_aws_fleet_example_shows_offers_and_the_resource_plan():
    result = dstack("apply", "-f", "examples/fleet-aws.dstack.yml", "--dry-run")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "BACKEND" in out and "g6.xlarge" in out
    assert "Resource plan of stack fleetstack/main-my-aws-fleet" in out
    assert "offline: evaluated in-process, no state compared" in out
    instance_lines = [line for line in out.splitlines() if "aws:ec2/instance:Instance" in line]
    assert len(instance_lines) == 2  # nodes: 2
    assert "aws:ec2/placementGroup:PlacementGroup" in out  # placement: cluster
    assert "placement=cluster" in out
    assert "ingress=22 from 0.0.0.0/0" in out
    assert "+ 5 to create (no state compared)" in out
    assert "Traceback" not in result.stderr
    # A dry run creates nothing: no fleet recorded, no key generated.
    home = Path(os.environ["DSTACK_HOME"])
    assert not (home / "ssh" / "id_ed25519").exists()
    assert json.loads(dstack("fleet", "--json").stdout) == []


@pytest.mark.parametrize("backend", ["gcp", "azure"])
def test_dry_run_on_gcp_and_azure_plans_their_resources(backend, tmp_path):
    config = tmp_path / "fleet.dstack.yml"
    config.write_text(
        "type: fleet\nname: t4s\nnodes: 2\nplacement: cluster\nresources:\n  gpu: T4\n"
    )

    result = dstack("apply", "-f", str(config), "--dry-run", "-b", backend, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"({backend} " in result.stdout
    token = "gcp:compute/instance:Instance" if backend == "gcp" else "compute:VirtualMachine"
    assert sum(token in line for line in result.stdout.splitlines()) == 2


def test_a_task_on_a_cloud_offer_shows_its_ports_in_the_plan(tmp_path):
    config = tmp_path / "serve.dstack.yml"
    config.write_text(
        "type: task\nname: serve\ncommands: [python -m http.server 8000]\nports: [8000]\n"
        "backends: [aws]\nresources:\n  gpu: L4\n"
    )

    result = dstack("apply", "-f", str(config), "--dry-run", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Resource plan of stack fleetstack/main-serve" in result.stdout
    assert "ingress=22 from 0.0.0.0/0" in result.stdout  # 8000 is forwarded over SSH
    assert "Port (while attached): http://127.0.0.1:8000 -> port 8000 of the job" in result.stdout


def test_creating_a_fleet_without_the_pulumi_cli_says_how_to_install_it_and_creates_nothing():
    result = dstack("apply", "-f", "examples/fleet-aws.dstack.yml", "-y")

    assert result.returncode == 1
    assert "Pulumi CLI is needed for cloud backends" in result.stderr
    assert "get.pulumi.com" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(dstack("fleet", "--json").stdout) == []
    assert "No fleets" in dstack("fleet").stdout


def test_fleet_delete_of_an_unknown_fleet_is_one_red_line():
    result = dstack("fleet", "delete", "nope", "-y")

    assert result.returncode == 1
    assert result.stderr.strip() == "fleet nope not found; `dstack fleet` lists fleets"


def test_an_elastic_fleet_with_no_nodes_yet_is_recorded_without_a_stack(tmp_path):
    config = tmp_path / "fleet.dstack.yml"
    config.write_text(
        "type: fleet\nname: elastic\nnodes: 0..2\nbackends: [aws]\nresources:\n  gpu: L4\n"
    )

    plan = dstack("apply", "-f", str(config), "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "starts with no instance (nodes: 0..2): nothing is created now" in plan.stdout
    assert "Resource plan" not in plan.stdout

    created = dstack("apply", "-f", str(config), "-y", cwd=tmp_path)
    assert created.returncode == 0, created.stderr  # no Pulumi CLI needed: no stack yet
    fleets = json.loads(dstack("fleet", "--json").stdout)
    assert [(f["name"], f["status"], f["instances"]) for f in fleets] == [("elastic", "active", [])]

    deleted = dstack("fleet", "delete", "elastic", "-y")
    assert deleted.returncode == 0, deleted.stderr
    assert "Fleet elastic deleted: it had no stack." in deleted.stdout
    assert json.loads(dstack("fleet", "--json").stdout) == []


def test_the_plan_takes_the_cheapest_offer_that_has_a_stack_program_and_says_so(tmp_path):
    config = tmp_path / "fleet.dstack.yml"
    # On the embedded snapshot, lambdalabs is the cheapest 8 × A100 80GB: no stack program.
    config.write_text("type: fleet\nname: big\nnodes: 1\nresources:\n  gpu: A100:80GB:8\n")

    result = dstack("apply", "-f", str(config), "--dry-run", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    first_offer = next(line for line in result.stdout.splitlines() if line.strip().startswith("1 "))
    assert "lambdalabs" in first_offer
    assert "cheaper offers on lambdalabs cannot be provisioned as a stack yet" in result.stdout
    assert "Resource plan of stack fleetstack/main-big (azure " in result.stdout


def test_the_vm_stack_engine_outside_the_test_bench_is_one_red_line_and_creates_nothing():
    result = apply_with_aws_engine("vm")

    assert result.returncode == 1
    assert "stack_engine 'vm' is a test engine" in result.stderr
    assert "`stack_engine: pulumi`" in result.stderr and "Traceback" not in result.stderr
    assert json.loads(dstack("fleet", "--json").stdout) == []


def test_an_unknown_stack_engine_names_the_file_the_field_and_the_fix():
    result = apply_with_aws_engine("terraform")

    assert result.returncode == 1
    assert "config.yml" in result.stderr and "backends[0].stack_engine" in result.stderr
    assert "use pulumi" in result.stderr and "Traceback" not in result.stderr


def apply_with_aws_engine(engine: str) -> subprocess.CompletedProcess[str]:
    """`dstack apply -y` of the AWS fleet example with `stack_engine: ENGINE` in config.yml."""
    home = Path(os.environ["DSTACK_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yml").write_text(f"backends:\n  - type: aws\n    stack_engine: {engine}\n")
    return dstack("apply", "-f", "examples/fleet-aws.dstack.yml", "-y")
