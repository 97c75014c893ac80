"""Saved plans through the real CLI: `dstack plan --out` then `dstack apply --plan` applies
exactly that plan, and refuses it, naming what changed, when the configuration or the stack
moved since (`--force` applies anyway)."""

from __future__ import annotations

import json

from .conftest import applied, fleet_file


def test_a_fresh_saved_plan_applies_and_records_what_it_was_computed_from(recording_cli, tmp_path):
    config = fleet_file(tmp_path, nodes="2")
    saved = tmp_path / "plan.json"
    planned = recording_cli("plan", "-f", str(config), "--out", str(saved))
    assert planned.returncode == 0, planned.stderr
    basis = json.loads(saved.read_text())["configurations"][0]["basis"]

    out = applied(recording_cli, "--plan", str(saved), "-y")

    assert basis["stack_version"] == "absent" and basis["state_source"] == "offline"
    assert "catalog" in basis["catalog"]
    assert basis["offer"].startswith("aws/")
    assert "Applying the saved plan" in out
    document = recording_cli.engine.stack("main-rec")
    assert document is not None and document["spec"]["nodes"] == 2
    assert f"/{document['spec']['instance_type']}/" in basis["offer"]


def test_a_saved_plan_is_refused_when_its_configuration_changed(recording_cli, tmp_path):
    config = fleet_file(tmp_path, nodes="1")
    saved = tmp_path / "plan.json"
    assert recording_cli("plan", "-f", str(config), "--out", str(saved)).returncode == 0
    fleet_file(tmp_path, nodes="3")

    refused = recording_cli("apply", "--plan", str(saved), "-y")

    assert refused.returncode == 1
    assert "stale" in refused.stderr and "the configuration changed" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert recording_cli.engine.stacks() == []


def test_a_saved_plan_is_refused_when_the_stack_changed_and_force_applies_it(
    recording_cli, tmp_path
):
    config = fleet_file(tmp_path, nodes="1")
    applied(recording_cli, "-f", str(config), "-y")
    fleet_file(tmp_path, nodes="2")
    saved = tmp_path / "plan.json"
    assert recording_cli("plan", "-f", str(config), "--out", str(saved)).returncode == 0
    # someone applies another change in between: the plan no longer describes the stack
    fleet_file(tmp_path, nodes="4")
    applied(recording_cli, "-f", str(config), "-y")
    fleet_file(tmp_path, nodes="2")

    refused = recording_cli("apply", "--plan", str(saved), "-y")
    forced = recording_cli("apply", "--plan", str(saved), "-y", "--force")

    assert refused.returncode == 1
    assert "the fleet's stack changed" in refused.stderr
    assert forced.returncode == 0, forced.stderr
    document = recording_cli.engine.stack("main-rec")
    assert document is not None and document["spec"]["nodes"] == 2


def test_a_file_that_is_not_a_plan_is_refused(recording_cli, tmp_path):
    bogus = tmp_path / "plan.json"
    bogus.write_text('{"configurations": []}')

    result = recording_cli("apply", "--plan", str(bogus), "-y")

    assert result.returncode == 1
    assert "not a fleetstack plan" in result.stderr and "Traceback" not in result.stderr


def test_the_flags_given_to_plan_travel_in_the_saved_plan(recording_cli, tmp_path):
    config = fleet_file(tmp_path, nodes="1")  # the file says backends: [aws]
    saved = tmp_path / "plan.json"
    planned = recording_cli("plan", "-f", str(config), "-b", "gcp", "--out", str(saved))
    assert planned.returncode == 0, planned.stderr

    applied(recording_cli, "--plan", str(saved), "-y")

    document = recording_cli.engine.stack("main-rec")
    assert document is not None and document["spec"]["cloud"] == "gcp"
