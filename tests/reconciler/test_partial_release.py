"""Idle release down to nodes.min, with the recording stack engine and a moved clock: a
fleet that keeps one node loses the idle nodes above it (an `up` with fewer nodes, the
highest-numbered go), never the one it keeps; nodes.min 0 destroys the whole fleet."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.state import (
    FleetStatus,
    close_all,
    get_fleet_by_name,
    instances_of_fleet,
    open_state,
)
from fleetstack.engine.state.events import list_events

from ..engines.conftest import recording_cli  # noqa: F401 - the fixture
from .conftest import Clock

THREE_KEEP_ONE = "{min: 1, target: 3, max: 3}"


def _fleet(recording_cli, tmp_path, name: str, nodes: str):  # noqa: F811
    config = tmp_path / f"{name}.dstack.yml"
    config.write_text(f"type: fleet\nname: {name}\nnodes: {nodes}\nidle_duration: 5m\n")
    applied = recording_cli("apply", "-f", str(config), "-y", "-b", "aws", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert recording_cli("server", "--stop").returncode == 0  # this test's reconciler moves it
    state, clock = open_state(), Clock()
    return state, clock, Reconciler(state, clock=clock, driver_for=lambda _c: recording_cli.engine)


def _live(state, name: str) -> list[str]:
    fleet = get_fleet_by_name(state, name)
    return [i.name for i in instances_of_fleet(state, fleet.id)]


def test_a_fleet_keeping_one_node_releases_the_others_after_idle_duration(
    recording_cli,  # noqa: F811
    tmp_path,
):
    state, clock, reconciler = _fleet(recording_cli, tmp_path, "trio", THREE_KEEP_ONE)
    engine = recording_cli.engine
    try:
        assert engine.stack("main-trio")["spec"]["nodes"] == 3
        listed = recording_cli("fleet").stdout
        assert re.search(r"idle \d+s \(kept: nodes\.min 1\)", listed), listed
        assert len(re.findall(r"idle \d+s \(released in [45]m\)", listed)) == 2, listed
        shown = json.loads(recording_cli("fleet", "get", "trio", "--json").stdout)
        assert [i["kept"] for i in shown["instances"]] == ["nodes.min 1", "", ""]
        assert shown["instances"][0]["released_at"] is None
        assert all(i["released_at"] for i in shown["instances"][1:])

        released_at = datetime.fromisoformat(shown["instances"][1]["released_at"])
        clock.at(released_at - timedelta(seconds=10))
        assert reconciler.run_pass().instances_released == []
        assert _live(state, "trio") == ["trio-0", "trio-1", "trio-2"]

        clock.advance(seconds=15)
        report = reconciler.run_pass()

        assert report.instances_released == ["trio-1", "trio-2"]
        assert report.fleets_released == []
        assert engine.stacks() == ["main-trio"]
        assert engine.stack("main-trio")["spec"]["nodes"] == 1  # the recorded `up`
        assert [c.verb for c in engine.calls() if c.verb in ("up", "destroy")] == ["up", "up"]
        assert _live(state, "trio") == ["trio-0"]
        fleet = get_fleet_by_name(state, "trio")
        assert fleet.status is FleetStatus.ACTIVE
        gone = [i for i in instances_of_fleet(state, fleet.id, include_terminated=True)
                if i.status.value == "terminated"]  # fmt: skip
        assert {i.termination_reason for i in gone} == {"idle duration exceeded"}
        moves = [(e.from_status, e.to_status, e.reason) for e in list_events(state)
                 if e.entity == "instance" and e.to_status == "terminated"]  # fmt: skip
        assert moves == [("idle", "terminated", "idle duration exceeded")] * 2

        # at nodes.min: never released, however long it stays idle
        clock.advance(days=30)
        assert reconciler.run_pass().instances_released == []
        assert reconciler.run_pass().fleets_released == []
        assert _live(state, "trio") == ["trio-0"]
        assert len(engine.calls("up")) == 2
        assert "(kept: nodes.min 1)" in recording_cli("fleet").stdout
    finally:
        close_all()


class _DiesAfterUp:
    """A stack engine whose process dies right after the `up` returns (before the rows)."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def ensure_ready(self) -> None:
        self.engine.ensure_ready()

    def up(self, spec, on_output=None):
        self.engine.up(spec, on_output)
        raise SystemExit("killed after up")

    def destroy(self, project: str, fleet: str, cloud: str) -> None:
        self.engine.destroy(project, fleet, cloud)


def test_a_crash_between_the_up_and_the_rows_is_repeated_by_the_next_pass(
    recording_cli,  # noqa: F811
    tmp_path,
):
    state, clock, _ = _fleet(recording_cli, tmp_path, "crashy", THREE_KEEP_ONE)
    engine = recording_cli.engine
    dying = Reconciler(state, clock=clock, driver_for=lambda _c: _DiesAfterUp(engine))
    try:
        clock.advance(minutes=6)
        try:
            dying.run_pass()
        except SystemExit:
            pass
        else:
            raise AssertionError("the pass should have died after the up")
        assert engine.stack("main-crashy")["spec"]["nodes"] == 1
        assert _live(state, "crashy") == ["crashy-0", "crashy-1", "crashy-2"]  # rows not yet

        # the next reconciler (after the claim's lease) does it again: the same up, the rows
        clock.advance(minutes=10)
        again = Reconciler(state, clock=clock, driver_for=lambda _c: engine)
        assert again.run_pass().instances_released == ["crashy-1", "crashy-2"]
        assert engine.stack("main-crashy")["spec"]["nodes"] == 1
        assert len(engine.calls("up")) == 3
        assert _live(state, "crashy") == ["crashy-0"]
    finally:
        close_all()


def test_a_fleet_with_nodes_min_zero_is_destroyed_whole(recording_cli, tmp_path):  # noqa: F811
    state, clock, reconciler = _fleet(
        recording_cli, tmp_path, "spare", "{min: 0, target: 3, max: 3}"
    )
    try:
        clock.advance(minutes=5, seconds=5)
        report = reconciler.run_pass()
        assert report.fleets_released == ["spare"] and report.instances_released == []
        assert recording_cli.engine.stacks() == []
        assert get_fleet_by_name(state, "spare").status is FleetStatus.TERMINATED
    finally:
        close_all()
