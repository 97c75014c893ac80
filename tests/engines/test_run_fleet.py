"""A fleet created for a run, through the real CLI, a background server and the recording
engine (nothing boots, and its instances have no address to reach: a job there cannot
start, so these tests are about the stacks; tests/vm runs jobs on booted instances):
failover across the plan's offers, no capacity with and without retry, nothing left behind
(the server's periodic orphan sweep is in test_orphans.py)."""

from __future__ import annotations

import json
from pathlib import Path

from fleetstack.engine.fleets.for_run import provision_of
from fleetstack.engine.fleets.lifecycle import apply_fleet
from fleetstack.engine.models.offers import Offer
from fleetstack.engine.models.plan import ResourcePlan
from fleetstack.engine.models.runs import RunSpec
from fleetstack.engine.models.statuses import (
    FleetStatus,
    JobStatus,
    JobTerminationReason,
    RunStatus,
)
from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.runs.submit import submit_run
from fleetstack.engine.services.apply import plan_apply
from fleetstack.engine.state import (
    close_all,
    create_fleet,
    create_run,
    finish_job,
    get_fleet,
    get_run,
    instances_of_fleet,
    jobs_of_run,
    open_state,
    set_job_status,
    update_job,
)
from fleetstack.engine.state.models import utcnow
from fleetstack.stacks.driver import StackOutputs
from fleetstack.stacks.engine import register_test_engine, unregister_test_engine
from fleetstack.stacks.offline import offline_plan
from fleetstack.stacks.spec import StackSpec

from tests.helpers import wait_for

from ..reconciler.conftest import Clock
from .test_failover import CAPACITY, offers

TASK = "type: task\nname: {name}\nbackends: [aws]\nresources:\n  gpu: T4\ncommands: [echo hi]\n"


def task_file(tmp_path: Path, name: str, extra: str = "") -> Path:
    path = tmp_path / f"{name}.dstack.yml"
    path.write_text(TASK.format(name=name) + extra)
    return path


def ps(cli) -> dict[str, dict]:
    listed = cli("ps", "-a", "--json")
    assert listed.returncode == 0, listed.stderr
    return {r["name"]: r for r in json.loads(listed.stdout)["runs"]}


def test_a_run_on_a_cloud_offer_fails_over_and_leaves_no_stack(recording_cli, tmp_path):
    first, second = offers(recording_cli)[:2]
    engine = recording_cli.engine
    engine.fail_up(first["instance"], CAPACITY, region=first["region"])

    ran = recording_cli("apply", "-f", str(task_file(tmp_path, "far")), "-y", cwd=tmp_path)

    err = " ".join(ran.stderr.split())
    assert "Placement a new fleet for the run" in " ".join(ran.stdout.split())
    assert "far provisioning" in err and "creating fleet far for run far" in err
    assert f"attempt 1: aws {first['region']} {first['instance']}: Insufficient" in err
    assert "trying the next offer" in err
    assert f"attempt 2: aws {second['region']} {second['instance']}: up" in err
    # the recording engine's instance has no address: the job cannot start there
    assert ran.returncode == 1
    assert "its stack exported no address to reach it over SSH" in err
    verbs = [(c.verb, c.detail.startswith("failed")) for c in engine.calls()
             if c.verb in ("up", "destroy")]  # fmt: skip
    assert verbs == [("up", True), ("destroy", False), ("up", False), ("destroy", False)]
    assert engine.stacks() == []  # the failed run's fleet was destroyed at once
    assert json.loads(recording_cli("fleet", "--json").stdout) == []
    assert ps(recording_cli)["far"]["status"] == "failed"


def test_no_capacity_anywhere_fails_at_once_without_retry(recording_cli, tmp_path):
    engine = recording_cli.engine
    for offer in offers(recording_cli)[:6]:
        engine.fail_up(offer["instance"], CAPACITY)

    ran = recording_cli("apply", "-f", str(task_file(tmp_path, "none")), "-y", cwd=tmp_path)

    assert ran.returncode == 1
    assert "no capacity on the 3 offers tried" in " ".join(ran.stderr.split())
    assert engine.stacks() == [] and len(engine.calls("up")) == 3
    run = ps(recording_cli)["none"]
    assert run["status"] == "failed"


def test_no_capacity_with_retry_waits_pending_and_can_be_stopped(recording_cli, tmp_path):
    engine = recording_cli.engine
    for offer in offers(recording_cli)[:6]:
        engine.fail_up(offer["instance"], CAPACITY)
    task = task_file(tmp_path, "patient", "retry:\n  on_events: [no-capacity]\n  duration: 1h\n")

    submitted = recording_cli("apply", "-f", str(task), "-y", "-d", cwd=tmp_path)

    assert submitted.returncode == 0, submitted.stderr
    wait_for(lambda: ps(recording_cli)["patient"]["status"] == "pending", "the run pending")
    assert engine.stacks() == []
    stopped = recording_cli("stop", "patient", "-y")
    assert stopped.returncode == 0, stopped.stderr
    assert ps(recording_cli)["patient"]["status"] == "terminated"


def test_a_fleet_whose_run_ended_during_up_is_destroyed(recording_cli, tmp_path):
    """A reconciler killed during `up`: the fleet row (written first) and its stack remain,
    the run is failed ("supervisor vanished"); the next pass destroys the stack."""
    engine = recording_cli.engine
    spec = StackSpec("main", "gone", "aws", "us-east-1", "g4dn.xlarge", "ssh-ed25519 K", "")
    engine.write_stack(spec, StackOutputs(["i-gone"], [], ["192.0.2.7"], "ubuntu"))
    state = open_state()
    try:
        run = create_run(state, name="gone", status=RunStatus.FAILED, run_spec={})
        fleet = create_fleet(state, name="gone", spec={"cloud": "aws", "run_id": run.id},
                             backend="aws", stack_name=spec.stack_name)  # fmt: skip
        assert fleet.status is FleetStatus.SUBMITTED
        reconciler = Reconciler(state, clock=utcnow, driver_for=lambda _cloud: engine)

        report = reconciler.run_pass()

        assert report.fleets_released == ["gone"]
        assert get_fleet(state, fleet.id).status is FleetStatus.TERMINATED
        assert engine.stacks() == []
    finally:
        close_all()


def test_a_run_fleet_is_destroyed_exactly_idle_duration_after_its_last_job(recording_cli):
    engine = recording_cli.engine
    spec = StackSpec("main", "idler", "aws", "us-east-1", "g4dn.xlarge", "ssh-ed25519 K", "")
    offer = Offer("aws", "us-east-1", "g4dn.xlarge", 4, "x86", 16.0, None, "nvidia", "T4", 1,
                  16.0, False, 0.5)  # fmt: skip
    state = open_state()
    try:
        run = create_run(state, name="idler", status=RunStatus.DONE, run_spec={})
        plan = ResourcePlan(offer, spec, offline_plan(spec), "offline", "a test")
        apply_fleet(state, plan, driver=engine, idle_duration=300, applied={"run_id": run.id})
        clock = Clock()
        reconciler = Reconciler(state, clock=clock, driver_for=lambda _cloud: engine)

        clock.advance(minutes=4, seconds=50)
        assert reconciler.run_pass().fleets_released == []
        assert engine.stacks() == ["main-idler"]
        clock.advance(seconds=15)
        assert reconciler.run_pass().fleets_released == ["idler"]
        assert engine.stacks() == []
    finally:
        close_all()


def test_a_retry_after_its_instance_was_lost_brings_a_new_fleet_up(recording_cli, tmp_path):
    """A spot instance taken away (the follower found it unreachable): `retry` on
    interruption destroys the run's fleet and brings a new one up, rather than starting the
    retry on the instance that is gone."""
    engine = recording_cli.engine
    task = task_file(tmp_path, "spotty", "retry:\n  on_events: [interruption]\n  duration: 1h\n")
    register_test_engine("recording", lambda _config: engine)
    state = open_state()
    try:
        plan = plan_apply(str(task), run_args=[], overrides={}, profile=None, dry_run=True)
        run = submit_run(plan, state=state)
        # what its first provisioning left: the fleet up, the job running on its instance
        [attempt, *_] = provision_of(RunSpec.of(run.run_spec).provision).resource_plans()
        fleet = apply_fleet(state, attempt, driver=engine, idle_duration=300,
                            applied={"run_id": run.id})  # fmt: skip
        [instance] = instances_of_fleet(state, fleet.id)
        [job] = jobs_of_run(state, run.id)
        update_job(state, job.id, instance_id=instance.id)
        set_job_status(state, job.id, JobStatus.RUNNING)
        finish_job(state, job.id, JobTerminationReason.INSTANCE_UNREACHABLE, error="gone")
        clock = Clock()
        reconciler = Reconciler(state, clock=clock, driver_for=lambda _cloud: engine)
        reconciler.run_pass()
        assert get_run(state, run.id).status is RunStatus.PENDING
        clock.advance(seconds=16)  # dstack's first backoff: 15 s

        reconciler.run_pass()

        retry = max(jobs_of_run(state, run.id), key=lambda j: j.submission_num)
        assert retry.submission_num == 1
        verbs = [c.verb for c in engine.calls() if c.verb in ("up", "destroy")]
        assert verbs[:3] == ["up", "destroy", "up"]  # the lost fleet went before a new one
        assert get_fleet(state, fleet.id).status is FleetStatus.TERMINATED
        log = (Path(retry.job_dir) / "provision.log").read_text()
        assert "creating fleet spotty for run spotty" in log
    finally:
        unregister_test_engine("recording")
        close_all()
