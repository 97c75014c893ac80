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
from pathlib import Path

from tests.helpers import wait_for

from .harness import SSH_USER, machine_running
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
    assert machine_running(record.machine)
    [fleet] = json.loads(dstack(cli_engine, "fleet", "--json").stdout)
    assert (fleet["name"], fleet["status"]) == ("cloudy", "active")
    assert [i["hostname"] for i in fleet["instances"]] == [record.ip]

    # nothing typed from here on: the background server releases the idle fleet
    wait_for(lambda: cli_engine.stacks() == [], "the idle fleet's stack destroyed", timeout=120)
    assert not machine_running(record.machine)
    events = dstack(cli_engine, "event").stdout
    assert "idle duration exceeded" in events


def test_a_second_run_within_the_idle_time_reuses_the_instance(cli_engine, tmp_path):
    project = _project(tmp_path)
    first = dstack(cli_engine, "apply", "-f", str(_task(project, "one", idle="10m", code=0)), "-y")
    assert first.returncode == 0, first.stdout + first.stderr
    [stack] = cli_engine.stacks()
    [record] = cli_engine._read(stack)

    second = dstack(cli_engine, "apply", "-f", str(_task(project, "two", idle="10m", code=0)), "-y")

    assert second.returncode == 0, second.stdout + second.stderr
    assert "uploaded with the run\n" in second.stdout
    assert "creating fleet" not in second.stderr  # no fleet, no stack, no boot for this run
    assert cli_engine.stacks() == [stack] and cli_engine._read(stack) == [record]
    listed = json.loads(dstack(cli_engine, "ps", "-a", "--json").stdout)["runs"]
    assert {r["name"]: r["status"] for r in listed} == {"one": "done", "two": "done"}

    # the run's fleet is deleted by hand before its idle time is over: its stack goes
    deleted = dstack(cli_engine, "fleet", "delete", "one", "-y")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert cli_engine.stacks() == [] and not machine_running(record.machine)
