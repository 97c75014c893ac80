"""`blocks`: an instance split into equal shares that jobs take side by side. A real
`type: fleet` apply on the recording engine (a 4-GPU machine with no address: jobs are
placed there and take their blocks, then fail to start)."""

from __future__ import annotations

from pathlib import Path

from fleetstack.engine.fleets.blocks import assign_blocks, block_job
from fleetstack.engine.fleets.lifecycle import idle_fleets
from fleetstack.engine.models.runs import RunSpec
from fleetstack.engine.models.statuses import InstanceStatus
from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.runs.submit import submit_run
from fleetstack.engine.state import (
    close_all,
    get_fleet_by_name,
    get_instance,
    get_job,
    get_run,
    instances_of_fleet,
    open_state,
)
from fleetstack.engine.state import jobs_of_run as jobs_of

from ..engines.conftest import recording_cli  # noqa: F401 - the fixture
from ..helpers import wait_for
from .conftest import Clock
from .test_placement import _in_process_plan, _placement

FLEET = "type: fleet\nname: quad\nnodes: 1\nblocks: 4\nidle_duration: 1h\nresources: {gpu: T4:4}\n"
TASK = (
    "type: task\nname: {name}\ncommands: [nvidia-smi]\nbackends: [aws]\nfleets: [quad]\n"
    "resources: {{gpu: {gpus}}}\n"
)


def _task(tmp_path: Path, name: str, gpus: int) -> Path:
    path = tmp_path / f"{name}.dstack.yml"
    path.write_text(TASK.format(name=name, gpus=gpus))
    return path


def _instance(state):
    (instance,) = instances_of_fleet(state, get_fleet_by_name(state, "quad").id)
    return instance


def _visible(state, job) -> str:
    """The CUDA_VISIBLE_DEVICES the job is started with on its blocks (the recording engine's
    instances have no address: the start fails after the blocks are assigned; the env a job
    prints on a real host: test_blocks_ssh.py)."""
    run = get_run(state, job.run_id)
    spec = block_job(RunSpec.of(run.run_spec).job, job, get_instance(state, job.instance_id))
    return spec.env.get("CUDA_VISIBLE_DEVICES", "")


def test_two_jobs_share_a_four_block_instance_and_a_third_waits(recording_cli, tmp_path):  # noqa: F811
    config = tmp_path / "quad.dstack.yml"
    config.write_text(FLEET)
    applied = recording_cli("apply", "-f", str(config), "-y", "-b", "aws", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert recording_cli("server", "--stop").returncode == 0  # this test's reconciler moves it
    first, second, third = (
        _task(tmp_path, "run-a", 2),
        _task(tmp_path, "run-b", 2),
        _task(tmp_path, "run-c", 1),
    )
    assert _placement(recording_cli, first) == "instance quad-0 (2 of 4 blocks)"

    state, clock = open_state(), Clock()
    reconciler = Reconciler(state, clock=clock, driver_for=lambda _c: recording_cli.engine)
    try:
        runs = [
            submit_run(_in_process_plan(recording_cli, p), state=state) for p in (first, second)
        ]
        instance = _instance(state)
        assert [j.instance_id for r in runs for j in jobs_of(state, r.id)] == [instance.id] * 2

        # every block is taken: the third run finds no room on the fleet it names
        refused = _placement(recording_cli, third)
        assert refused.startswith("none: ") and "fleets: no 1 idle instance(s) fit" in refused
        assert refused.endswith("closest: fleet quad (its 1 instance(s) are busy)")

        # the blocks each job takes as it starts, while the other holds its own
        jobs = [assign_blocks(state, instance, j) for r in runs for j in jobs_of(state, r.id)]
        assert [tuple(j.job_spec["blocks"]) for j in jobs] == [(0, 1), (2, 3)]
        assert [_visible(state, j) for j in jobs] == ["0,1", "2,3"]  # each sees its 2 GPUs

        clock.advance(hours=2)  # past the fleet's idle_duration: it has jobs, it stays
        report = reconciler.run_pass()
        assert report.fleets_released == [] and len(report.jobs_started) == 2
        instance = _instance(state)
        assert instance.status is InstanceStatus.BUSY
        assert instance.backend_data["blocks_busy"] == 4
        # starting kept the blocks they held
        jobs = [get_job(state, j.id) for j in jobs]
        assert [tuple(j.job_spec["blocks"]) for j in jobs] == [(0, 1), (2, 3)]

        wait_for(lambda: all(get_job(state, j.id).status.is_finished for j in jobs), "jobs end")
        reconciler.run_pass()
        instance = _instance(state)
        assert instance.status is InstanceStatus.IDLE
        assert instance.backend_data["blocks_busy"] == 0

        # a block is free: the third run takes one, and the instance stays idle beside it
        assert _placement(recording_cli, third) == "instance quad-0 (1 of 4 blocks)"
        run = submit_run(_in_process_plan(recording_cli, third), state=state)
        (job,) = jobs_of(state, run.id)
        assert job.instance_id == instance.id
        reconciler.run_pass()
        assert _instance(state).status is InstanceStatus.IDLE
        assert _visible(state, get_job(state, job.id)) == "0"
        listed = recording_cli("fleet").stdout
        assert "idle (1/4 blocks busy)" in listed, listed  # as the pass counted them
    finally:
        close_all()


def test_an_instance_with_a_held_block_is_not_released(recording_cli, tmp_path):  # noqa: F811
    config = tmp_path / "quad.dstack.yml"
    config.write_text(FLEET.replace("nodes: 1", "nodes: {min: 0, target: 1, max: 1}"))
    applied = recording_cli("apply", "-f", str(config), "-y", "-b", "aws", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert recording_cli("server", "--stop").returncode == 0
    state, clock = open_state(), Clock()
    try:
        clock.advance(hours=2)
        assert [f.name for f in idle_fleets(state, now=clock())] == ["quad"]
        submit_run(_in_process_plan(recording_cli, _task(tmp_path, "one", 1)), state=state)
        # its job holds one block of four (not started yet): the instance is not idle
        assert _instance(state).status is InstanceStatus.IDLE
        assert idle_fleets(state, now=clock()) == []
    finally:
        close_all()
