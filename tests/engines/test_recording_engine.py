"""The recording engine under the real CLI: what `dstack apply` / `fleet delete` ask of a stack."""

from __future__ import annotations

import json
from pathlib import Path

FLEET = "type: fleet\nname: rec\nnodes: 2\nresources:\n  gpu: T4\n"


def test_apply_and_delete_of_a_fleet_bring_its_stack_up_and_destroy_it(recording_cli, tmp_path):
    config = tmp_path / "fleet.dstack.yml"
    config.write_text(FLEET)

    applied = recording_cli("apply", "-f", str(config), "-y", "-b", "aws", cwd=tmp_path)

    assert applied.returncode == 0, applied.stderr
    engine = recording_cli.engine
    assert engine.stacks() == ["main-rec"]
    document = engine.stack("main-rec")
    assert document is not None and document["spec"]["nodes"] == 2
    listed = json.loads(recording_cli("fleet", "--json").stdout)
    instances = [i for fleet in listed for i in fleet.get("instances", [])]
    assert sorted(i["internal_ip"] for i in instances) == ["192.0.2.1", "192.0.2.2"]
    assert [i["hostname"] for i in instances] == [None, None]  # nothing to reach

    deleted = recording_cli("fleet", "delete", "rec", "-y")

    assert deleted.returncode == 0, deleted.stderr
    assert engine.stacks() == []
    assert [c.verb for c in engine.calls() if c.verb in ("up", "destroy")] == ["up", "destroy"]


def test_a_failing_up_is_reported_and_recorded(recording_cli, tmp_path: Path):
    config = tmp_path / "fleet.dstack.yml"
    config.write_text(FLEET)
    recording_cli.engine.fail_up("g4dn.xlarge", "InsufficientInstanceCapacity: no g4dn.xlarge")

    applied = recording_cli(
        "apply", "-f", str(config), "-y", "-b", "aws", "--instance-type", "g4dn.xlarge"
    )

    assert applied.returncode != 0
    assert "InsufficientInstanceCapacity" in applied.stderr + applied.stdout
    assert "Traceback" not in applied.stderr
    assert recording_cli.engine.stacks() == []
