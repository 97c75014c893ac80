"""Failover through the real CLI and the recording engine: an `up` that fails for capacity is
destroyed and the plan's next offer is tried; any other error stops at once; max_price holds."""

from __future__ import annotations

import json
from pathlib import Path

FLEET = "type: fleet\nname: fo\nnodes: 1\nbackends: [aws]\nresources:\n  gpu: T4\n"
CAPACITY = "InsufficientInstanceCapacity: We currently do not have sufficient g4dn capacity"


def offers(cli, *args: str) -> list[dict]:
    listed = cli("offer", "-b", "aws", "--gpu", "T4", "--json", *args)
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)["offers"]


def fleet_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "fleet.dstack.yml"
    path.write_text(FLEET + extra)
    return path


def test_no_capacity_on_the_first_offer_lands_the_fleet_on_the_second(recording_cli, tmp_path):
    first, second = offers(recording_cli)[:2]
    engine = recording_cli.engine
    engine.fail_up(first["instance"], CAPACITY, region=first["region"])

    applied = recording_cli("apply", "-f", str(fleet_file(tmp_path)), "-y")

    assert applied.returncode == 0, applied.stderr
    assert "Attempt 1/3 on aws" in applied.stdout and "no capacity" in applied.stdout
    assert "trying the next offer" in applied.stdout
    spec = engine.stack("main-fo")["spec"]
    assert (spec["region"], spec["instance_type"]) == (second["region"], second["instance"])
    verbs = [(c.verb, c.detail.startswith("failed")) for c in engine.calls() if c.verb != "list"]
    assert verbs[-3:] == [("up", True), ("destroy", False), ("up", False)]
    fleets = json.loads(recording_cli("fleet", "--json").stdout)
    assert [f["name"] for f in fleets] == ["fo"]


def test_an_error_that_is_not_capacity_is_not_failed_over(recording_cli, tmp_path):
    first = offers(recording_cli)[0]
    engine = recording_cli.engine
    engine.fail_up(first["instance"], "AuthFailure: AWS was not able to validate the credentials")

    applied = recording_cli("apply", "-f", str(fleet_file(tmp_path)), "-y")

    assert applied.returncode == 1
    assert "AuthFailure" in applied.stderr and "Traceback" not in applied.stderr
    assert "Attempt" not in applied.stdout
    assert len(engine.calls("up")) == 1


def test_failover_never_goes_above_max_price(recording_cli, tmp_path):
    listed = offers(recording_cli)
    cheapest = listed[0]["price"]
    within = [o for o in listed if o["price"] <= cheapest]
    engine = recording_cli.engine
    for offer in listed[:6]:
        engine.fail_up(offer["instance"], CAPACITY)

    applied = recording_cli(
        "apply", "-f", str(fleet_file(tmp_path, f"max_price: {cheapest}\n")), "-y"
    )

    assert applied.returncode == 1
    tried = engine.calls("up")
    assert 1 <= len(tried) == min(len(within), 3)
    assert f"no capacity on the {len(tried)} offers tried" in applied.stderr
    assert engine.stacks() == []  # every failed attempt was destroyed
