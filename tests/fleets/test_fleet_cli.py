"""`dstack fleet` as a user types it: -v, -w, `fleet get NAME --json`, `fleet delete NAME -i N`.

The elastic fleet is created through `dstack apply`; the AWS fleet is recorded in the real
state file as `apply` records one after its stack's `up` (no Pulumi CLI here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fleetstack.engine.models.statuses import FleetStatus, InstanceStatus
from fleetstack.engine.state import (
    close_all,
    create_fleet,
    create_instance,
    open_state,
    set_fleet_status,
    set_instance_status,
)

from ..helpers import WAIT, signal_and_collect

DSTACK = str(Path(sys.executable).parent / "dstack")
THREE_DAYS = 259200


def dstack(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DSTACK, *args], cwd=cwd, env=dict(os.environ), capture_output=True, text=True,
        timeout=WAIT, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def fleets(tmp_path):
    """An elastic fleet `elastic` (applied) and an AWS fleet `gpus` with instances 0 and 1."""
    conf = tmp_path / "fleet.dstack.yml"
    conf.write_text("type: fleet\nname: elastic\nnodes: 0..2\nbackends: [aws]\n")
    applied = dstack("apply", "-f", str(conf), "-y", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    state = open_state()
    spec = {"cloud": "aws", "region": "us-east-1", "instance_type": "g6.xlarge", "nodes": 2,
            "spot": False, "price": 0.805, "idle_duration": THREE_DAYS,
            "resources": "4xCPU, 16GB, 1xL4 (24GB), 100GB (disk)"}  # fmt: skip
    fleet = create_fleet(state, name="gpus", spec=spec, backend="aws", stack_name="main-gpus")
    set_fleet_status(state, fleet.id, FleetStatus.ACTIVE)
    for num in (0, 1):
        instance = create_instance(
            state, fleet.id, name=f"gpus-{num}", instance_num=num, backend="aws",
            region="us-east-1", instance_type="g6.xlarge", price=0.805,
            hostname=f"10.0.0.{10 + num}",
        )  # fmt: skip
        set_instance_status(state, instance.id, InstanceStatus.PROVISIONING)
        set_instance_status(state, instance.id, InstanceStatus.BUSY, busy_job_id=f"job-{num}")
    close_all()
    return tmp_path


def test_verbose_adds_the_stack_the_addresses_and_times(fleets):
    plain, verbose = dstack("fleet"), dstack("fleet", "-v")
    assert plain.returncode == 0 and verbose.returncode == 0, verbose.stderr
    assert "STACK" not in plain.stdout and "10.0.0.10" not in plain.stdout
    header, *rows = verbose.stdout.splitlines()
    assert header.split()[-3:] == ["STACK", "ADDRESS", "CREATED"]
    gpus = next(r for r in rows if r.startswith(" gpus"))
    assert "main-gpus" in gpus
    assert any(r.split()[0] == "1" and "10.0.0.11" in r for r in rows)
    assert dstack("fleet", "list", "-v").stdout == verbose.stdout


def test_fleet_get_prints_one_fleet_as_json(fleets):
    got = dstack("fleet", "get", "gpus", "--json")
    assert got.returncode == 0, got.stderr
    fleet = json.loads(got.stdout)
    assert (fleet["name"], fleet["backend"], fleet["stack_name"]) == ("gpus", "aws", "main-gpus")
    assert [(i["num"], i["hostname"]) for i in fleet["instances"]] == [
        (0, "10.0.0.10"),
        (1, "10.0.0.11"),
    ]
    listed = json.loads(dstack("fleet", "--json").stdout)
    assert fleet in listed and len(listed) == 2
    table = dstack("fleet", "get", "elastic")
    assert table.returncode == 0 and "elastic" in table.stdout and "gpus" not in table.stdout
    missing = dstack("fleet", "get", "nope", "--json")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip() == "fleet nope not found; `dstack fleet` lists fleets"


def test_deleting_one_instance_is_refused_with_the_backends_reason(fleets):
    refused = dstack("fleet", "delete", "gpus", "-i", "1", "-y")
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("fleet gpus: instance 1 cannot be deleted alone on aws: a fleet's ")
    assert line.endswith("delete the whole fleet with `dstack fleet delete gpus`")
    unknown = dstack("fleet", "delete", "gpus", "-i", "7", "-y")
    assert unknown.returncode == 1
    assert "fleet gpus has no instance 7: its instances are 0, 1" in unknown.stderr
    empty = dstack("fleet", "delete", "elastic", "-i", "0", "-y")
    assert empty.returncode == 1 and "fleet elastic has no instance 0: it has none" in empty.stderr
    after = json.loads(dstack("fleet", "get", "gpus", "--json").stdout)
    assert [i["status"] for i in after["instances"]] == ["busy", "busy"]


def test_watch_redraws_until_ctrl_c_and_refuses_json(fleets):
    proc = subprocess.Popen(
        [DSTACK, "fleet", "-w"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=dict(os.environ),
    )  # fmt: skip
    seen = b""
    try:
        while seen.count(b"FLEET") < 2:  # drawn twice: it redraws
            chunk = proc.stdout.read1(4096)
            assert chunk, "dstack fleet -w ended before drawing twice"
            seen += chunk
    finally:
        _, err = signal_and_collect(proc, signal.SIGINT, WAIT)
    assert proc.returncode == 0 and b"Traceback" not in err
    assert b"gpus" in seen and b"elastic" in seen
    both = dstack("fleet", "-w", "--json")
    assert both.returncode == 1 and "--json cannot be combined with -w/--watch" in both.stderr
