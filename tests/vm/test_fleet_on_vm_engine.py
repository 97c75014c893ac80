"""`dstack apply` of a fleet on the VM stack engine, as a user runs it (the CLI in a subprocess):
the whole fleet path except Pulumi's engine. The CLI processes join the session's bench
(tests/vm/dstack_vm.py); the instances `apply` boots outlive it, and `fleet delete`, another
process, halts them from the engine's state directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetstack.stacks import common

from .dstack_vm import BENCH_VAR, STATE_VAR
from .engine import VMEngine
from .harness import SUBNET_PREFIX, Bench, leftovers, machine_running

REPO = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 300  # an upper bound for a busy machine's boots; never a timing assertion


@pytest.fixture
def cli_engine(vm_bench: Bench, tmp_path: Path) -> Iterator[VMEngine]:
    """The engine state the CLI processes share; whatever they booted is halted afterwards."""
    engine = VMEngine(vm_bench, tmp_path / "vm-stacks")
    home = Path(os.environ["DSTACK_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yml").write_text("backends:\n  - type: aws\n    stack_engine: vm\n")
    try:
        yield engine
    finally:
        engine.halt_all()


def dstack(engine: VMEngine, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **{BENCH_VAR: str(engine.bench.index), STATE_VAR: str(engine.state_dir)})
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin"  # no pulumi
    try:
        return subprocess.run(
            [sys.executable, str(Path(__file__).parent / "dstack_vm.py"), *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )
    except subprocess.TimeoutExpired as hung:  # say what the CLI and the server were doing
        pytest.fail(f"dstack {' '.join(args)} ran past {CLI_TIMEOUT} s\n{_evidence(hung)}")


def _evidence(hung: subprocess.TimeoutExpired) -> str:
    """The hung CLI's output so far and the tails of the server's and provisioners' logs."""
    parts = [f"--- {name} ---\n{_text(out)[-4000:]}" for name, out in
             (("stdout", hung.stdout), ("stderr", hung.stderr))]  # fmt: skip
    home = Path(os.environ["DSTACK_HOME"])
    for log in sorted([*home.glob("server/*.log"), *home.glob("runs/*/*/provisioner.log")]):
        parts.append(f"--- {log} ---\n{log.read_text(errors='replace')[-4000:]}")
    return "\n".join(parts)


def _text(out: str | bytes | None) -> str:
    return out.decode(errors="replace") if isinstance(out, bytes) else (out or "")


def test_apply_boots_the_fleets_instances_and_fleet_delete_halts_them(cli_engine):
    applied = dstack(cli_engine, "apply", "-f", "examples/fleet-aws.dstack.yml", "-y")

    assert applied.returncode == 0, applied.stdout + applied.stderr
    [fleet] = json.loads(dstack(cli_engine, "fleet", "--json").stdout)
    assert fleet["name"] == "my-aws-fleet" and fleet["status"] == "active"
    records = cli_engine._read(fleet["stack_name"])
    instances = fleet["instances"]
    assert len(records) == len(instances) == 2
    assert sorted(i["hostname"] for i in instances) == sorted(r.ip for r in records)
    assert all(i["internal_ip"] == i["hostname"] for i in instances)  # one bench network
    assert all(i["ssh_user"] == common.SSH_USER for i in instances)  # the program's export
    for record in records:
        assert record.ip.startswith(f"{SUBNET_PREFIX}.{cli_engine.bench.index}.")
        assert machine_running(record.machine)  # it outlived the `apply` process

    deleted = dstack(cli_engine, "fleet", "delete", "my-aws-fleet", "-y")

    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    for record in records:
        assert not machine_running(record.machine)
        assert [item for item in leftovers(record.machine) if record.machine in item] == []
    assert json.loads(dstack(cli_engine, "fleet", "--json").stdout) == []
