"""`dstack fleet delete` of a fleet a run uses: refused with the run's name; --force stops the
run first. The run is a real local task; it is tied to the fleet in the database the way
placement records it (the run's fleet_id)."""

from __future__ import annotations

import json

from fleetstack.engine.state import get_run_by_name, open_state, update_run
from fleetstack.engine.state.fleets import get_fleet_by_name

FLEET = "type: fleet\nname: busy\nnodes: 1\nresources:\n  gpu: T4\n"
TASK = "type: task\nname: holder\ncommands:\n  - sleep 120\n"


def test_a_fleet_in_use_is_kept_until_forced_and_force_stops_the_run(recording_cli, tmp_path):
    fleet_file, task_file = tmp_path / "fleet.dstack.yml", tmp_path / "task.dstack.yml"
    fleet_file.write_text(FLEET)
    task_file.write_text(TASK)
    assert recording_cli("apply", "-f", str(fleet_file), "-y", "-b", "aws").returncode == 0
    started = recording_cli("apply", "-f", str(task_file), "-y", "-d", "-b", "local", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    state = open_state()
    run = get_run_by_name(state, "holder")
    fleet = get_fleet_by_name(state, "busy")
    assert run is not None and fleet is not None
    update_run(state, run.id, fleet_id=fleet.id)

    refused = recording_cli("fleet", "delete", "busy", "-y")

    assert refused.returncode == 1
    assert "fleet busy is in use by holder" in refused.stderr and "--force" in refused.stderr
    assert recording_cli.engine.stacks() == ["main-busy"]

    forced = recording_cli("fleet", "delete", "busy", "-y", "--force")

    assert forced.returncode == 0, forced.stderr
    assert recording_cli.engine.stacks() == []
    runs = json.loads(recording_cli("ps", "-a", "--json").stdout)["runs"]
    holder = next(r for r in runs if r["name"] == "holder")
    assert holder["status"] == "terminated"
