"""Fleet lifecycle bookkeeping around the stack driver: apply, delete, idle reaping.

The Pulumi CLI cannot run here, so the driver is a recording double that answers like the real
StackDriver (StackOutputs, StackError); what is tested is what fleetstack records and decides.
The real driver is tested in tests/stacks/test_driver.py where the CLI exists.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fleetstack.engine.errors import FleetstackError
from fleetstack.engine.fleets.lifecycle import (
    apply_fleet,
    delete_fleet,
    idle_fleets,
    reap_idle_fleets,
)
from fleetstack.engine.models.offers import Offer
from fleetstack.engine.models.plan import ResourcePlan
from fleetstack.engine.state import (
    FleetStatus,
    InstanceStatus,
    get_fleet_by_name,
    instances_of_fleet,
    list_fleets,
    open_state,
)
from fleetstack.stacks.diff import StackDiff
from fleetstack.stacks.driver import StackOutputs
from fleetstack.stacks.errors import PulumiCLIMissing, StackError, ensure_pulumi_cli
from fleetstack.stacks.spec import StackSpec


class RecordingDriver:
    def __init__(self, fail_up: str | None = None) -> None:
        self.calls: list[tuple] = []
        self.fail_up = fail_up

    def ensure_ready(self):
        ensure_pulumi_cli()

    def up(self, spec, on_output=None):
        self.calls.append(("up", spec.stack_name))
        if self.fail_up:
            raise StackError(self.fail_up)
        n = spec.nodes
        return StackOutputs(
            instance_ids=[f"i-{k}" for k in range(n)],
            public_ips=[f"203.0.113.{k + 1}" for k in range(n)],
            private_ips=[f"10.0.0.{k + 1}" for k in range(n)],
            ssh_user="ubuntu",
        )

    def destroy(self, project, fleet, cloud):
        self.calls.append(("destroy", project, fleet, cloud))


@pytest.fixture
def pulumi_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An executable named pulumi on PATH, so the CLI check passes (the driver is a double)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "pulumi"
    exe.write_text("#!/bin/sh\nexit 1\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")


def _plan(nodes: int = 2, fleet: str = "my-fleet") -> ResourcePlan:
    offer = Offer(
        backend="aws", region="us-east-1", instance_type="g6.xlarge", cpus=4, cpu_arch="x86",
        memory_gb=16, disk_gb=None, gpu_vendor="nvidia", gpu_name="L4", gpu_count=1,
        gpu_memory_gb=24, spot=True, price=0.5,
    )  # fmt: skip
    spec = StackSpec(
        project="main", fleet=fleet, cloud="aws", region="us-east-1", instance_type="g6.xlarge",
        ssh_public_key="ssh-ed25519 AAAA test", user_data="#cloud-config\n", nodes=nodes, spot=True,
    )  # fmt: skip
    return ResourcePlan(offer, spec, StackDiff([], state_compared=False), "preview")


def test_without_the_pulumi_cli_nothing_is_recorded(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    state = open_state()
    driver = RecordingDriver()

    with pytest.raises(PulumiCLIMissing, match="Pulumi CLI is needed"):
        apply_fleet(state, _plan(), driver=driver)

    assert list_fleets(state, include_finished=True) == []
    assert driver.calls == []


def test_apply_records_the_fleet_and_one_instance_per_node(pulumi_on_path):
    state = open_state()

    fleet = apply_fleet(state, _plan(nodes=2), driver=RecordingDriver(), idle_duration=3600)

    assert fleet.status is FleetStatus.ACTIVE
    assert fleet.stack_name == "main-my-fleet"
    instances = instances_of_fleet(state, fleet.id)
    assert [(i.hostname, i.internal_ip, i.ssh_user) for i in instances] == [
        ("203.0.113.1", "10.0.0.1", "ubuntu"),
        ("203.0.113.2", "10.0.0.2", "ubuntu"),
    ]
    assert all(i.status is InstanceStatus.IDLE and i.spot for i in instances)
    assert fleet.stack_outputs is not None
    assert get_fleet_by_name(state, "my-fleet").stack_outputs["instance_ids"] == ["i-0", "i-1"]


def test_applying_again_updates_the_same_fleet(pulumi_on_path):
    state = open_state()
    driver = RecordingDriver()
    first = apply_fleet(state, _plan(nodes=2), driver=driver)

    second = apply_fleet(state, _plan(nodes=3), driver=driver)

    assert second.id == first.id
    assert len(instances_of_fleet(state, first.id)) == 3
    assert [c[0] for c in driver.calls] == ["up", "up"]


def test_a_failed_up_marks_the_fleet_failed_and_says_how_to_clean_up(pulumi_on_path):
    state = open_state()

    with pytest.raises(FleetstackError, match="dstack fleet delete my-fleet"):
        apply_fleet(state, _plan(), driver=RecordingDriver(fail_up="pulumi failed: quota"))

    fleet = list_fleets(state, include_finished=True)[0]
    assert fleet.status is FleetStatus.FAILED
    assert "quota" in fleet.status_message


def test_delete_destroys_the_stack_and_terminates_everything(pulumi_on_path):
    state = open_state()
    driver = RecordingDriver()
    fleet = apply_fleet(state, _plan(), driver=driver)

    deleted = delete_fleet(state, "my-fleet", driver_for=lambda cloud: driver)

    assert deleted.status is FleetStatus.TERMINATED
    assert driver.calls[-1] == ("destroy", "main", "my-fleet", "aws")
    assert instances_of_fleet(state, fleet.id) == []
    with pytest.raises(FleetstackError, match="not found"):
        delete_fleet(state, "my-fleet", driver_for=lambda cloud: driver)


def test_a_failed_destroy_leaves_the_fleet_terminating_for_a_retry(pulumi_on_path):
    state = open_state()
    apply_fleet(state, _plan(), driver=RecordingDriver())

    class Failing(RecordingDriver):
        def destroy(self, project, fleet, cloud):
            raise StackError("locked")

    with pytest.raises(FleetstackError, match="run `dstack fleet delete my-fleet` again"):
        delete_fleet(state, "my-fleet", driver_for=lambda cloud: Failing())

    assert get_fleet_by_name(state, "my-fleet").status is FleetStatus.TERMINATING


def test_idle_fleets_are_destroyed_only_after_their_idle_duration(pulumi_on_path):
    state = open_state()
    driver = RecordingDriver()
    apply_fleet(state, _plan(fleet="short"), driver=driver, idle_duration=600)
    apply_fleet(state, _plan(fleet="forever"), driver=driver, idle_duration=None)
    now = datetime.now(UTC)

    assert idle_fleets(state, now=now + timedelta(seconds=60)) == []
    reaped = reap_idle_fleets(
        state, driver_for=lambda cloud: driver, now=now + timedelta(seconds=601)
    )

    assert reaped == ["short"]
    assert ("destroy", "main", "short", "aws") in driver.calls
    assert get_fleet_by_name(state, "forever").status is FleetStatus.ACTIVE
