"""Idle release by the reconciler, with the recording stack engine and a moved clock: a fleet
idle past its idle_duration has its stack destroyed exactly then; `off` keeps it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.state import FleetStatus, close_all, get_fleet_by_name, open_state
from fleetstack.engine.state.events import list_events

from ..engines.conftest import recording_cli  # noqa: F401 - the fixture
from .conftest import Clock

# one node at creation, none kept: nodes.min 0 lets idle release take the whole fleet
ELASTIC_ONE = "{min: 0, target: 1, max: 1}"


def _fleet(recording_cli, tmp_path, name: str, idle: str, nodes: str = ELASTIC_ONE):  # noqa: F811
    """Apply a one-node fleet; a reconciler over its state with a clock the test moves."""
    config = tmp_path / f"{name}.dstack.yml"
    config.write_text(f"type: fleet\nname: {name}\nnodes: {nodes}\nidle_duration: {idle}\n")
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
        clock.at(datetime.fromisoformat(shown["released_at"]) - timedelta(seconds=10))
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


@pytest.mark.parametrize(
    ("name", "idle", "nodes", "shown"),
    [
        ("kept", "off", ELASTIC_ONE, "(kept: idle_duration off)"),
        # `nodes: 1` keeps one node (nodes.min 1, as in dstack): never released below it
        ("kept-min", "5m", "1", "(kept: nodes.min 1)"),
    ],
)
def test_an_idle_fleet_is_kept_when_off_or_at_nodes_min(
    recording_cli,  # noqa: F811
    tmp_path,
    name,
    idle,
    nodes,
    shown,
):
    state, clock, reconciler = _fleet(recording_cli, tmp_path, name, idle, nodes=nodes)
    assert shown in recording_cli("fleet").stdout
    try:
        clock.advance(days=30)
        assert reconciler.run_pass().fleets_released == []
        assert recording_cli.engine.stacks() == [f"main-{name}"]
        assert get_fleet_by_name(state, name).status is FleetStatus.ACTIVE
    finally:
        close_all()
