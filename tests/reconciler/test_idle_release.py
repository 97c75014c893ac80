"""Idle release by the reconciler, with the recording stack engine and a moved clock: a fleet
idle past its idle_duration has its stack destroyed exactly then; `off` keeps it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.state import FleetStatus, close_all, get_fleet_by_name, open_state
from fleetstack.engine.state.events import list_events

from ..engines.conftest import recording_cli  # noqa: F401 - the fixture
from .conftest import Clock


def _fleet(recording_cli, tmp_path, name: str, idle: str):  # noqa: F811
    """Apply a one-node fleet; a reconciler over its state with a clock the test moves."""
    config = tmp_path / f"{name}.dstack.yml"
    config.write_text(f"type: fleet\nname: {name}\nnodes: 1\nidle_duration: {idle}\n")
    applied = recording_cli("apply", "-f", str(config), "-y", "-b", "aws", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    state, clock = open_state(), Clock()
    return state, clock, Reconciler(state, clock=clock, driver_for=lambda _c: recording_cli.engine)


def test_a_fleet_is_released_exactly_after_its_idle_duration(recording_cli, tmp_path):  # noqa: F811
    state, clock, reconciler = _fleet(recording_cli, tmp_path, "idle-five", "5m")
    listed = recording_cli("fleet")
    assert re.search(r"idle \d+s \(released in [45]m\)", listed.stdout), listed.stdout
    shown = json.loads(recording_cli("fleet", "get", "idle-five", "--json").stdout)
    since = datetime.fromisoformat(shown["idle_since"])
    assert datetime.fromisoformat(shown["released_at"]) - since == timedelta(minutes=5)
    try:
        clock.advance(minutes=4, seconds=50)
        assert reconciler.run_pass().fleets_released == []
        assert recording_cli.engine.stacks() == ["main-idle-five"]

        clock.advance(seconds=15)
        assert reconciler.run_pass().fleets_released == ["idle-five"]

        assert recording_cli.engine.stacks() == []
        fleet = get_fleet_by_name(state, "idle-five")
        assert fleet.status is FleetStatus.TERMINATED
        moves = [(e.from_status, e.to_status, e.reason) for e in list_events(state)
                 if e.entity == "fleet"]  # fmt: skip
        assert moves[-2:] == [
            ("active", "terminating", "idle duration exceeded"),
            ("terminating", "terminated", "idle duration exceeded"),
        ]
    finally:
        close_all()


def test_idle_duration_off_keeps_the_fleet(recording_cli, tmp_path):  # noqa: F811
    state, clock, reconciler = _fleet(recording_cli, tmp_path, "kept", "off")
    assert "(kept: idle_duration off)" in recording_cli("fleet").stdout
    try:
        clock.advance(days=30)
        assert reconciler.run_pass().fleets_released == []
        assert recording_cli.engine.stacks() == ["main-kept"]
        assert get_fleet_by_name(state, "kept").status is FleetStatus.ACTIVE
    finally:
        close_all()
