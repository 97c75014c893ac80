"""Fleets as code through the real CLI and the recording engine: an unchanged file changes
nothing, `nodes` scales in place as a stack update, `placement` asks to re-create."""

from __future__ import annotations

import json

from .conftest import applied, fleet_file


def test_an_unchanged_fleet_file_says_no_changes_and_does_nothing(recording_cli, tmp_path):
    config = fleet_file(tmp_path, nodes="2")
    applied(recording_cli, "-f", str(config), "-y")
    ups = len(recording_cli.engine.calls("up"))

    again = applied(recording_cli, "-f", str(config), "-y")
    plan = recording_cli("plan", "-f", str(config), "--detailed-exitcode")

    assert "Fleet rec: no changes" in again
    assert len(recording_cli.engine.calls("up")) == ups
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "no changes" in plan.stdout


def test_a_nodes_change_is_planned_and_applied_in_place(recording_cli, tmp_path):
    config = fleet_file(tmp_path, nodes="1")
    applied(recording_cli, "-f", str(config), "-y")
    first = recording_cli.engine.stack("main-rec")
    fleet_file(tmp_path, nodes="3")

    plan = recording_cli("plan", "-f", str(config), "--json", "--detailed-exitcode")
    out = applied(recording_cli, "-f", str(config), "-y")

    assert plan.returncode == 2, plan.stdout + plan.stderr
    item = json.loads(plan.stdout)["configurations"][0]
    assert item["action"] == "update"
    assert item["field_changes"] == [{"field": "nodes", "old": 1, "new": 3}]
    ops = sorted(
        (r["op"], r["name"].rsplit("-", 1)[-1]) for r in item["resource_plan"]["resources"]
    )
    assert ("create", "1") in ops and ("create", "2") in ops and ("same", "0") in ops
    assert "its stack is updated in place" in out and "nodes: 1 -> 3" in out
    document = recording_cli.engine.stack("main-rec")
    assert document is not None and document["spec"]["nodes"] == 3
    # the same instance type and user-data: the node that exists is kept, not replaced
    assert document["spec"]["instance_type"] == first["spec"]["instance_type"]
    assert document["spec"]["user_data"] == first["spec"]["user_data"]
    assert [c.verb for c in recording_cli.engine.calls() if c.verb in ("up", "destroy")] == [
        "up",
        "up",
    ]
    listed = json.loads(recording_cli("fleet", "--json").stdout)
    assert len(listed[0]["instances"]) == 3


def test_nodes_forms_and_scaling_from_a_range(recording_cli, tmp_path):
    config = fleet_file(tmp_path, nodes="{min: 1, target: 1, max: 4}")
    applied(recording_cli, "-f", str(config), "-y")
    fleet_file(tmp_path, nodes="2..4")

    out = applied(recording_cli, "-f", str(config), "-y")

    assert "its stack is updated in place" in out
    document = recording_cli.engine.stack("main-rec")
    assert document is not None and document["spec"]["nodes"] == 2


def test_a_placement_change_asks_to_re_create_and_needs_force_without_a_prompt(
    recording_cli, tmp_path
):
    config = fleet_file(tmp_path, nodes="2")
    applied(recording_cli, "-f", str(config), "-y")
    fleet_file(tmp_path, nodes="2", extra="placement: cluster\n")

    asked = recording_cli("apply", "-f", str(config), input="n\n")
    refused = recording_cli("apply", "-f", str(config), "-y")

    assert asked.returncode == 1
    assert "must be re-created" in asked.stdout and "placement" in asked.stdout
    assert "Re-create the fleet rec" in asked.stdout
    assert refused.returncode == 1 and "add --force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert [c.verb for c in recording_cli.engine.calls() if c.verb in ("up", "destroy")] == ["up"]

    forced = applied(recording_cli, "-f", str(config), "-y", "--force")

    assert "must be re-created" in forced
    verbs = [c.verb for c in recording_cli.engine.calls() if c.verb in ("up", "destroy")]
    assert verbs == ["up", "destroy", "up"]
    document = recording_cli.engine.stack("main-rec")
    assert document is not None and document["spec"]["placement_cluster"] is True


def test_delete_dash_f_deletes_the_fleet_the_file_declares(recording_cli, tmp_path):
    config = fleet_file(tmp_path, nodes="1")
    applied(recording_cli, "-f", str(config), "-y")

    deleted = recording_cli("delete", "-f", str(config), "-y")

    assert deleted.returncode == 0, deleted.stderr
    assert recording_cli.engine.stacks() == []
    assert json.loads(recording_cli("fleet", "--json").stdout) == []
