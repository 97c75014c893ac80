"""A task on an instance the VM engine booted for a fleet (`dstack apply` of a cloud fleet):
fleetstack reaches it over SSH as the user the stack program exports, with the project key,
uploads the project and runs the job in the task's `image:` through the instance's docker."""

from __future__ import annotations

from pathlib import Path

from .harness import LOCAL_IMAGE, SSH_USER
from .test_fleet_on_vm_engine import cli_engine, dstack

__all__ = ["cli_engine"]  # the fixture, shared with the fleet tests

FLEET = """type: fleet
name: vmfleet
backends: [aws]
nodes: 1
resources:
  cpu: 2..
  memory: 8GB..
"""


def test_a_task_runs_in_its_image_on_the_fleets_booted_instance(cli_engine, tmp_path: Path):
    fleet = tmp_path / "vmfleet.dstack.yml"
    fleet.write_text(FLEET)
    applied = dstack(cli_engine, "apply", "-f", str(fleet), "-y")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    project = tmp_path / "project"
    project.mkdir()
    (project / "data.txt").write_text("uploaded to the instance\n")
    task = project / "boxed.dstack.yml"
    task.write_text(
        f"type: task\nname: boxed\nfleets: [vmfleet]\nimage: {LOCAL_IMAGE}\ncommands:\n"
        "  - test -f /.dockerenv && echo in-a-container\n"
        "  - cat data.txt\n"
        "  - echo rank=$DSTACK_NODE_RANK workdir=$DSTACK_WORKING_DIR\n"
    )
    ran = dstack(cli_engine, "apply", "-f", str(task), "-y")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "in-a-container\nuploaded to the instance\nrank=0 workdir=/workflow\n" in ran.stdout
    # without an image the job runs on the instance itself, as the SSH user, in a transient
    # systemd unit (the instance runs systemd), so it outlives the SSH connection
    plain = project / "plain.dstack.yml"
    plain.write_text(
        "type: task\nname: plain\nfleets: [vmfleet]\ncommands:\n"
        "  - echo user=$(id -un)\n"
        "  - grep -o 'fleetstack-job-[0-9a-f-]*[.]service' /proc/self/cgroup | head -n 1\n"
    )
    ran = dstack(cli_engine, "apply", "-f", str(plain), "-y")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"user={SSH_USER}\nfleetstack-job-" in ran.stdout and ".service\n" in ran.stdout
