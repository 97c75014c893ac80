"""`dstack fleet --orphans [--delete]` against a real moto EC2 server and the recording stack
engine: stacks no fleet names and tagged instances no stack lists are found and removed;
untagged instances, other projects' instances and stacks, and owned ones are left alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fleetstack.engine.backends.base import TaggedInstance
from fleetstack.engine.fleets.orphans import orphan_instances
from fleetstack.engine.models.statuses import FleetStatus
from fleetstack.engine.reconciler.sweep import SWEEP_ENV
from fleetstack.stacks.driver import StackOutputs
from fleetstack.stacks.spec import StackSpec

from ..helpers import moto_server, wait_for
from .conftest import ENTRY

REGION = "us-east-1"
FLEET = "type: fleet\nname: kept\nnodes: 1\nresources:\n  cpu: 2..\n"


@pytest.fixture
def aws(recording_cli):
    """recording_cli with its aws backend on a moto EC2 server (one region); boto3 client."""
    import boto3

    with moto_server() as endpoint:
        aws_env = {
            "AWS_ENDPOINT_URL_EC2": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }
        recording_cli.env.update(aws_env)
        home = Path(os.environ["DSTACK_HOME"])
        (home / "config.yml").write_text(
            f"backends:\n  - type: aws\n    regions: [{REGION}]\n    stack_engine: recording\n"
        )
        client = boto3.client(
            "ec2",
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        yield recording_cli, client


def launch(client, tags: dict[str, str]) -> str:
    spec = {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
    answer = client.run_instances(
        ImageId="ami-12c6146b",
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        **({"TagSpecifications": [spec]} if tags else {}),
    )
    return answer["Instances"][0]["InstanceId"]


def states(client) -> dict[str, str]:
    answer = client.describe_instances()
    return {
        i["InstanceId"]: i["State"]["Name"] for r in answer["Reservations"] for i in r["Instances"]
    }


def plant_stack(engine, project: str, fleet: str, instance_ids: list[str]) -> None:
    spec = StackSpec(project, fleet, "aws", REGION, "t3.micro", "ssh-ed25519 AAAA k", "")
    engine.write_stack(spec, StackOutputs(instance_ids=instance_ids, ssh_user="ubuntu"))


@dataclass(frozen=True)
class Planted:
    """The instances of the world `plant` makes (EC2 ids)."""

    owned: str  # tagged, listed by the live fleet kept's stack
    orphan: str  # tagged main/gone, listed by no stack
    theirs: str  # tagged project other, listed by other's stack
    untagged: str


def plant(cli, client, tmp_path: Path) -> Planted:
    """A live fleet `kept` owning an instance; beside it an orphan instance, another
    project's instance and stack, an untagged instance, and the stack main-lost no fleet
    names."""
    engine = cli.engine
    config = tmp_path / "fleet.dstack.yml"
    config.write_text(FLEET)
    assert cli("apply", "-f", str(config), "-y", "-b", "aws").returncode == 0
    owned = launch(client, {"owner": "fleetstack", "project": "main", "fleet": "kept"})
    kept = engine.stack("main-kept")
    assert kept is not None
    engine.write_stack(StackSpec(**kept["spec"]), StackOutputs(instance_ids=[owned]))
    orphan = launch(client, {"owner": "fleetstack", "project": "main", "fleet": "gone"})
    theirs = launch(client, {"owner": "fleetstack", "project": "other", "fleet": "x"})
    untagged = launch(client, {})
    plant_stack(engine, "main", "lost", [])
    plant_stack(engine, "other", "theirs", [theirs])
    return Planted(owned, orphan, theirs, untagged)


def test_orphans_are_listed_then_removed_and_nothing_else_is_touched(aws, tmp_path):
    cli, client = aws
    engine = cli.engine
    planted = plant(cli, client, tmp_path)
    owned, orphan, theirs, untagged = (planted.owned, planted.orphan, planted.theirs,
                                       planted.untagged)  # fmt: skip

    listed = cli("fleet", "--orphans", "--json")

    assert listed.returncode == 0, listed.stderr
    found = {(o["kind"], o["name"]) for o in json.loads(listed.stdout)}
    assert found == {("stack", "main-lost"), ("instance", orphan)}

    refused = cli("fleet", "--orphans", "--delete", input="n\n")

    assert refused.returncode == 1 and "Nothing was deleted." in refused.stdout
    assert "main-lost" in engine.stacks() and states(client)[orphan] == "running"

    deleted = cli("fleet", "--orphans", "--delete", "-y")

    assert deleted.returncode == 0, deleted.stderr
    assert f"Removed instance {orphan} ({REGION})." in deleted.stdout
    assert "Removed stack main-lost." in deleted.stdout
    assert engine.stacks() == ["main-kept", "other-theirs"]
    after = states(client)
    assert after[orphan] in ("shutting-down", "terminated")
    assert {after[owned], after[theirs], after[untagged]} == {"running"}
    again = json.loads(cli("fleet", "--orphans", "--json").stdout)
    assert again == []


def test_the_server_sweeps_orphans_periodically_and_touches_nothing_else(aws, tmp_path):
    cli, client = aws
    engine = cli.engine
    planted = plant(cli, client, tmp_path)
    assert cli("server", "--stop").returncode == 0  # the sweeping one is started below
    orphan = planted.orphan
    env = {**cli.env, SWEEP_ENV: "1"}
    argv = [sys.executable, str(ENTRY), "server"]
    server = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        wait_for(lambda: "main-lost" not in engine.stacks(), "the orphan stack swept",
                 process=server)  # fmt: skip
        wait_for(lambda: states(client)[orphan] in ("shutting-down", "terminated"),
                 "the orphan instance terminated", process=server)  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=60)
    assert engine.stacks() == ["main-kept", "other-theirs"]
    kept = (planted.owned, planted.theirs, planted.untagged)
    assert {states(client)[i] for i in kept} == {"running"}
    assert "orphan sweep removed stack main-lost" in log
    assert f"orphan sweep removed instance {orphan}" in log


@dataclass
class FleetRow:
    """What orphan_instances reads of a fleet record."""

    name: str
    status: FleetStatus


def test_a_fleet_being_brought_up_owns_its_tagged_instances():
    # its `up` created the instance but has not written the stack's outputs yet
    instance = TaggedInstance("i-1", REGION, "pending", "main", "rising")

    rising = orphan_instances([instance], set(), [FleetRow("rising", FleetStatus.SUBMITTED)],
                              "main", "aws")  # fmt: skip
    ended = orphan_instances([instance], set(), [FleetRow("rising", FleetStatus.TERMINATED)],
                             "main", "aws")  # fmt: skip

    assert rising == []
    assert [o.name for o in ended] == ["i-1"]


def test_without_a_stack_cloud_configured_it_says_there_is_nothing(recording_cli):
    home = Path(os.environ["DSTACK_HOME"])
    (home / "config.yml").write_text("backends:\n  - type: local\n")

    result = recording_cli("fleet", "--orphans")

    assert result.returncode == 1
    assert "no stack cloud is configured" in result.stderr and "Traceback" not in result.stderr


def test_delete_without_orphans_is_a_usage_error(recording_cli):
    result = recording_cli("fleet", "--delete")

    assert result.returncode != 0 and "--delete goes with --orphans" in result.stderr
