"""Runs land on fleets: the plan says where a run goes, and submit puts its job there. Fleets
are real `type: fleet` applies on the recording engine (instances at TEST-NET addresses:
placement and fleet lifecycle are tested here, a job cannot start on them)."""

from __future__ import annotations

from pathlib import Path

from fleetstack.engine.models.statuses import InstanceStatus
from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.runs.submit import submit_run
from fleetstack.engine.services.apply import plan_apply
from fleetstack.engine.state import (
    close_all,
    get_fleet_by_name,
    get_job,
    instances_of_fleet,
    open_state,
)
from fleetstack.engine.state import jobs_of_run as jobs_of
from fleetstack.stacks.engine import register_test_engine, unregister_test_engine

from ..engines.conftest import recording_cli  # noqa: F401 - the fixture
from ..helpers import wait_for
from .conftest import Clock

# one m5.large-sized node (the cheapest aws offer of a default task), none kept when idle
FLEET = "type: fleet\nname: {name}\nnodes: {{min: 0, target: 1, max: 1}}\nidle_duration: 1h\n"
TASK = "type: task\nname: {name}\ncommands: [echo hi]\nbackends: [aws]\n{extra}"


def _fleet(recording_cli, tmp_path: Path, name: str, *flags: str) -> None:  # noqa: F811
    path = tmp_path / f"{name}.dstack.yml"
    path.write_text(FLEET.format(name=name))
    applied = recording_cli("apply", "-f", str(path), "-y", "-b", "aws", *flags, cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr


def _task(tmp_path: Path, name: str, extra: str = "") -> Path:
    path = tmp_path / f"{name}.dstack.yml"
    path.write_text(TASK.format(name=name, extra=extra))
    return path


def _in_process_plan(recording_cli, path: Path):  # noqa: F811
    """The plan `dstack apply --dry-run` makes, in this process (the recording engine lent)."""
    register_test_engine("recording", lambda _config: recording_cli.engine)
    try:
        return plan_apply(str(path), run_args=[], overrides={}, profile=None, dry_run=True)
    finally:
        unregister_test_engine("recording")


def _placement(recording_cli, path: Path, *flags: str) -> str:  # noqa: F811
    shown = recording_cli("apply", "-f", str(path), "--dry-run", *flags, cwd=path.parent)
    assert shown.returncode == 0, shown.stderr
    line = next(x for x in shown.stdout.splitlines() if x.strip().startswith("Placement"))
    return " ".join(line.split()[1:])


def test_an_idle_fleet_instance_is_reused_before_a_fleet_is_created(recording_cli, tmp_path):  # noqa: F811
    task = _task(tmp_path, "trainer")
    assert _placement(recording_cli, task) == "a new fleet for the run (aws m5.large)"

    _fleet(recording_cli, tmp_path, "warm")

    assert _placement(recording_cli, task) == "idle instance(s) warm-0 (reused)"
    # submitting the same plan puts the job on that instance, creating nothing
    plan = _in_process_plan(recording_cli, task)
    state = open_state()
    try:
        run = submit_run(plan, state=state)
        fleet = get_fleet_by_name(state, "warm")
        (instance,) = instances_of_fleet(state, fleet.id)
        assert [j.instance_id for j in jobs_of(state, run.id)] == [instance.id]
        assert run.backend == "aws" and run.price == instance.price
    finally:
        close_all()
    assert recording_cli.engine.stacks() == ["main-warm"]
    assert len(recording_cli.engine.calls("up")) == 1  # the fleet's own up only


def test_an_instance_the_run_does_not_fit_is_not_taken(recording_cli, tmp_path):  # noqa: F811
    _fleet(recording_cli, tmp_path, "small")
    bigger = _task(tmp_path, "bigger", "resources: {cpu: 16..}\n")

    assert _placement(recording_cli, bigger).startswith("a new fleet for the run (aws ")

    refused = recording_cli("apply", "-f", str(bigger), "-y", "-R", cwd=tmp_path)
    assert refused.returncode == 1
    assert "creation_policy: reuse no 1 idle instance(s) fit 16..xCPU" in refused.stderr
    assert "closest: fleet small (its 1 idle instance(s) do not match the run's offers)" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert recording_cli.engine.stacks() == ["main-small"]


def test_reuse_with_nothing_to_reuse_fails_and_provisions_nothing(recording_cli, tmp_path):  # noqa: F811
    task = _task(tmp_path, "only-reuse", "creation_policy: reuse\n")

    refused = recording_cli("apply", "-f", str(task), "-y", cwd=tmp_path)

    assert refused.returncode == 1
    assert f"{task.name}: creation_policy: reuse no 1 idle instance(s) fit" in refused.stderr
    assert "there is no fleet" in refused.stderr
    assert recording_cli.engine.calls("up") == []
    assert "none: " in _placement(recording_cli, task)


def test_fleets_restricts_the_run_to_the_named_fleet(recording_cli, tmp_path):  # noqa: F811
    _fleet(recording_cli, tmp_path, "first")
    _fleet(recording_cli, tmp_path, "second")
    task = _task(tmp_path, "picky", "fleets: [second]\n")

    assert _placement(recording_cli, task) == "idle instance(s) second-0 (reused)"
    # --fleet wins over the file, as dstack's flag does
    assert (
        _placement(recording_cli, task, "--fleet", "first") == "idle instance(s) first-0 (reused)"
    )

    missing = _task(tmp_path, "lost", "fleets: [nowhere]\n")
    shown = _placement(recording_cli, missing)
    assert shown.startswith("none: ") and shown.endswith(
        f"{missing.name}: fleets: nowhere: no such fleet; `dstack fleet` lists fleets"
    )


def test_instances_selects_the_instance(recording_cli, tmp_path):  # noqa: F811
    _fleet(recording_cli, tmp_path, "one")
    _fleet(recording_cli, tmp_path, "two")
    by_name = _task(tmp_path, "by-name", "instances: [two-0]\n")
    assert _placement(recording_cli, by_name) == "idle instance(s) two-0 (reused)"

    nothing = _task(tmp_path, "by-number", "instances: [{fleet: one, instance: 3}]\n")
    assert "closest: fleet" in _placement(recording_cli, nothing)
    assert "`instances:` selects none of its instances" in _placement(recording_cli, nothing)


def test_a_busy_instance_takes_no_second_job(recording_cli, tmp_path):  # noqa: F811
    _fleet(recording_cli, tmp_path, "single")
    # no server: it would try the job on the TEST-NET address at once, fail it, free the node
    assert recording_cli("server", "--stop").returncode == 0
    first, second = _task(tmp_path, "first-run"), _task(tmp_path, "second-run")
    state = open_state()
    try:
        plan = _in_process_plan(recording_cli, first)
        submit_run(plan, state=state)
    finally:
        close_all()

    assert _placement(recording_cli, second) == "a new fleet for the run (aws m5.large)"
    refused = recording_cli("apply", "-f", str(second), "-y", "-R", cwd=tmp_path)
    assert "closest: fleet single (its 1 instance(s) are busy)" in refused.stderr


def test_a_reused_instance_is_released_idle_duration_after_its_job_ends(recording_cli, tmp_path):  # noqa: F811
    """The job on a reused fleet instance keeps the fleet; its end starts the idle time. (On
    the recording engine's TEST-NET address the job fails to start: it ends at once.)"""
    _fleet(recording_cli, tmp_path, "reused")
    assert recording_cli("server", "--stop").returncode == 0  # this test's reconciler moves it
    task = _task(tmp_path, "one-job")
    state, clock = open_state(), Clock()
    reconciler = Reconciler(state, clock=clock, driver_for=lambda _c: recording_cli.engine)
    try:
        run = submit_run(_in_process_plan(recording_cli, task), state=state)
        clock.advance(hours=2)  # past the fleet's 1h since it was created
        assert reconciler.run_pass().fleets_released == []  # its instance has the job
        (job,) = jobs_of(state, run.id)
        (instance,) = instances_of_fleet(state, get_fleet_by_name(state, "reused").id)
        assert instance.status is InstanceStatus.BUSY and instance.busy_job_id == job.id
        # the job cannot start there (the recording engine's instances have no address)
        wait_for(lambda: get_job(state, job.id).status.is_finished, "the job to end")

        assert reconciler.run_pass().fleets_released == []  # idle from this pass on
        (instance,) = instances_of_fleet(state, instance.fleet_id)
        assert instance.status is InstanceStatus.IDLE and instance.busy_job_id is None
        clock.advance(minutes=59, seconds=50)
        assert reconciler.run_pass().fleets_released == []
        clock.advance(seconds=15)
        assert reconciler.run_pass().fleets_released == ["reused"]
        assert recording_cli.engine.stacks() == []
    finally:
        close_all()
