"""A task whose only offers are on a stack cloud, end to end on the VM stack engine, as a user
runs it: `dstack apply -y` (the real CLI in a subprocess) submits the run; the background
server it starts creates a fleet for the run (its stack `up` boots an instance from our
user-data), waits for SSH and cloud-init, starts the job over SSH and follows it; the CLI
streams the output and exits with the task's exit code. The fleet's stack is destroyed
idle_duration after its last job, with no command typed; a run within the idle time reuses
the instance without a second boot.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from fleetstack.engine.reconciler.leases import RENEW_ENV
from fleetstack.templates.backstop import LEASE_PATH

from tests.helpers import wait_for

from . import host
from .harness import LOCAL_IMAGE, SSH_USER, instances_dir, machine_running
from .test_fleet_on_vm_engine import cli_engine, dstack

__all__ = ["cli_engine"]  # the fixture, shared with the fleet tests

TASK = """type: task
name: {name}
backends: [aws]
idle_duration: {idle}
resources:
  cpu: 2..
  memory: 8GB..
commands:
  - echo "on $(hostname) as $(id -un)"
  - cat data.txt
  - exit {code}
"""


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "data.txt").write_text("uploaded with the run\n")
    return project


def _task(project: Path, name: str, *, idle: str, code: int) -> Path:
    path = project / f"{name}.dstack.yml"
    path.write_text(TASK.format(name=name, idle=idle, code=code))
    return path


def test_a_cloud_task_boots_its_own_fleet_and_the_idle_stack_is_destroyed(cli_engine, tmp_path):
    project = _project(tmp_path)
    task = _task(project, "cloudy", idle="5s", code=3)

    ran = dstack(cli_engine, "apply", "-f", str(task), "-y")

    assert ran.returncode == 3, ran.stdout + ran.stderr  # the task's own exit code
    assert "uploaded with the run\n" in ran.stdout
    assert "cloudy provisioning" in ran.stderr and "creating fleet cloudy" in ran.stderr
    assert "is ready (cloud-init: done)" in ran.stderr
    [stack] = cli_engine.stacks()
    [record] = cli_engine._read(stack)
    assert f"on {record.machine} as {SSH_USER}\n" in ran.stdout  # on the booted instance
    # (the idle time started as the run ended: the fleet's listing is looked at in the next
    # test, whose idle time a slow machine's CLI calls cannot outlast)

    # nothing typed from here on: the background server releases the idle fleet
    wait_for(lambda: cli_engine.stacks() == [], "the idle fleet's stack destroyed", timeout=120)
    assert not machine_running(record.machine)
    events = dstack(cli_engine, "event").stdout
    assert "idle duration exceeded" in events


def test_a_second_run_within_the_idle_time_reuses_the_instance(cli_engine, tmp_path, monkeypatch):
    monkeypatch.setenv(RENEW_ENV, "1")  # the server renews each lease every second
    project = _project(tmp_path)
    first = dstack(cli_engine, "apply", "-f", str(_task(project, "one", idle="10m", code=0)), "-y")
    assert first.returncode == 0, first.stdout + first.stderr
    [stack] = cli_engine.stacks()
    [record] = cli_engine._read(stack)
    assert machine_running(record.machine)
    [fleet] = json.loads(dstack(cli_engine, "fleet", "--json").stdout)
    assert (fleet["name"], fleet["status"]) == ("one", "active")
    assert [i["hostname"] for i in fleet["instances"]] == [record.ip]
    lease = instances_dir() / record.machine / "root" / LEASE_PATH.lstrip("/")
    lease.unlink()  # the boot's lease: from now on only the server's renewals make one
    wait_for(lease.exists, "the server to renew the instance's lease over SSH")

    second = dstack(cli_engine, "apply", "-f", str(_task(project, "two", idle="10m", code=0)), "-y")

    assert second.returncode == 0, second.stdout + second.stderr
    assert "uploaded with the run\n" in second.stdout
    assert "creating fleet" not in second.stderr  # no fleet, no stack, no boot for this run
    assert cli_engine.stacks() == [stack] and cli_engine._read(stack) == [record]
    listed = json.loads(dstack(cli_engine, "ps", "-a", "--json").stdout)["runs"]
    assert {r["name"]: r["status"] for r in listed} == {"one": "done", "two": "done"}

    # `dstack stop` of a run on the fleet's instance stops its job there; the instance idles
    (project / "long.dstack.yml").write_text(
        "type: task\nname: long\nbackends: [aws]\nresources:\n  cpu: 2..\n  memory: 8GB..\n"
        "commands:\n  - echo started\n  - sleep 600\n"
    )
    detached = dstack(cli_engine, "apply", "-f", str(project / "long.dstack.yml"), "-y", "-d")
    assert detached.returncode == 0, detached.stdout + detached.stderr
    wait_for(lambda: "started" in dstack(cli_engine, "logs", "long").stdout, "the job to start")
    sleeping = ["pgrep", "-f", "sleep 600"]
    assert _in_machine(record.machine, sleeping).returncode == 0  # it runs on the instance
    stopped = dstack(cli_engine, "stop", "long", "-y")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    wait_for(lambda: _status(cli_engine, "long") == "terminated", "the run terminated")
    wait_for(lambda: _in_machine(record.machine, sleeping).returncode == 1, "the job gone")
    # the server's next pass sees the instance's job ended and marks it idle
    wait_for(lambda: _instance_statuses(cli_engine) == ["idle"], "the instance idle")

    # the run's fleet is deleted by hand before its idle time is over: its stack goes
    deleted = dstack(cli_engine, "fleet", "delete", "one", "-y")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert cli_engine.stacks() == [] and not machine_running(record.machine)


def _status(engine, name: str) -> str:
    listed = json.loads(dstack(engine, "ps", "-a", "--json").stdout)["runs"]
    return next(r["status"] for r in listed if r["name"] == name)


def _instance_statuses(engine) -> list[str]:
    [fleet] = json.loads(dstack(engine, "fleet", "--json").stdout)
    return [i["status"] for i in fleet["instances"]]


def _in_machine(machine: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """`argv` inside a machine another process booted (the server did), by its systemd."""
    leader = next(
        pid
        for nspawn in host.nspawn_pids(machine)
        for pid in host.descendants(nspawn)
        if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd"
    )
    return subprocess.run(["nsenter", "-t", str(leader), "-a", "--", *argv],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_a_two_node_task_gets_a_fleet_of_two_whose_nodes_know_each_other(cli_engine, tmp_path):
    project = _project(tmp_path)
    task = project / "pair.dstack.yml"
    task.write_text(
        f"type: task\nname: pair\nnodes: 2\nbackends: [aws]\nidle_duration: 10m\n"
        f"image: {LOCAL_IMAGE}\n"
        "resources:\n  cpu: 2..\n  memory: 8GB..\ncommands:\n"
        "  - echo rank=$DSTACK_NODE_RANK of=$DSTACK_NODES_NUM master=$DSTACK_MASTER_NODE_IP\n"
        "  - echo ips=$(echo $DSTACK_NODES_IPS)\n"
    )

    ran = dstack(cli_engine, "apply", "-f", str(task), "-y")

    assert ran.returncode == 0, ran.stdout + ran.stderr
    [stack] = cli_engine.stacks()
    records = sorted(cli_engine._read(stack), key=lambda r: r.resource)
    ips = [r.ip for r in records]
    assert len(ips) == 2 and ran.stderr.count("creating fleet pair") == 1
    for node in ("pair-0", "pair-1"):  # each node's job is `pulling` while its image comes
        assert f"pulling {LOCAL_IMAGE} on {node}" in ran.stderr
    assert f"{LOCAL_IMAGE}: already on the instance" in ran.stderr
    for rank in (0, 1):
        assert f"[node {rank}] rank={rank} of=2 master={ips[0]}\n" in ran.stdout
        assert f"[node {rank}] ips={ips[0]} {ips[1]}\n" in ran.stdout
    deleted = dstack(cli_engine, "fleet", "delete", "pair", "-y")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert cli_engine.stacks() == []
