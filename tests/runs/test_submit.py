"""submit_run: what is refused before anything runs, and what a submitted run records."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from fleetstack.engine.config import load_configuration
from fleetstack.engine.errors import FleetstackError
from fleetstack.engine.fleets.stacks import choose_offer
from fleetstack.engine.models.offers import Offer, OfferList, Requirements
from fleetstack.engine.models.plan import Plan
from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.runner.supervisor import process_token
from fleetstack.engine.runs.jobs import build_job, job_for_submission
from fleetstack.engine.runs.lifecycle import refresh_runs
from fleetstack.engine.runs.submit import submit_run
from fleetstack.engine.state import (
    RunStatus,
    create_job,
    create_run,
    get_job,
    get_run_by_name,
    jobs_of_run,
    update_job,
)

from ..helpers import wait_for


def _offer(backend: str = "local", gpus: int = 0) -> Offer:
    return Offer(
        backend=backend,
        region="local" if backend == "local" else "us-east-1",
        instance_type="local" if backend == "local" else "m5.large",
        cpus=2,
        cpu_arch="x86",
        memory_gb=8.0,
        disk_gb=100.0,
        gpu_vendor="nvidia" if gpus else None,
        gpu_name="A10G" if gpus else None,
        gpu_count=gpus,
        gpu_memory_gb=24.0 if gpus else None,
        spot=False,
        price=0.0 if backend == "local" else 0.1,
    )


def _plan(path: Path, text: str, offers: list[Offer], run_args=()) -> Plan:
    path.write_text(text)
    loaded = load_configuration(path, run_args=list(run_args))
    conf = loaded.configuration
    return Plan(
        configuration_path=str(path),
        configuration=conf,
        requirements=Requirements.from_configuration(conf),
        offers=OfferList(offers=offers, total=len(offers)),
        run_name=conf.name or "x",
        chosen_offer=choose_offer(offers).offer,
    )


def test_a_cloud_offer_without_the_pulumi_cli_is_refused_with_the_fix(tmp_path, state, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `pulumi` binary
    plan = _plan(tmp_path / "a.dstack.yml", "type: task\ncommands: [echo]\n", [_offer("aws")])
    with pytest.raises(
        FleetstackError, match="the run needs a fleet on aws .*the Pulumi CLI is needed"
    ):
        submit_run(plan, state=state)
    assert get_run_by_name(state, "a") is None


def test_no_offer_is_a_clear_error(tmp_path, state):
    plan = _plan(tmp_path / "a.dstack.yml", "type: task\ncommands: [echo]\n", [])
    with pytest.raises(FleetstackError, match="nothing to submit"):
        submit_run(plan, state=state)


def test_a_dev_environment_does_not_run_locally_yet(tmp_path, state):
    plan = _plan(tmp_path / "d.dstack.yml", "type: dev-environment\nide: vscode\n", [_offer()])
    with pytest.raises(FleetstackError, match="type: dev-environment cannot run"):
        submit_run(plan, state=state)


def test_a_task_without_commands_is_refused(tmp_path, state):
    plan = _plan(tmp_path / "t.dstack.yml", "type: task\nimage: ubuntu\n", [_offer()])
    with pytest.raises(FleetstackError, match="commands"):
        submit_run(plan, state=state)


def test_submitted_run_records_backend_spec_and_a_generated_name(tmp_path, state):
    plan = _plan(
        tmp_path / "t.dstack.yml",
        "type: task\ncommands: [echo hi]\nretry: {on_events: [error], duration: 10m}\n",
        [_offer()],
    )
    run = submit_run(plan, state=state, run_args=["x"])
    assert run.name and run.backend == "local" and run.price == 0
    assert run.run_spec["retry"] == {"on_events": ["error"], "duration": 600}
    assert run.run_spec["run_args"] == ["x"]
    assert run.run_spec["project_root"] == str(tmp_path)
    (job,) = jobs_of_run(state, run.id)
    assert job.supervisor_pid is None  # submitting starts nothing: the reconciler does
    Reconciler(state).run_pass()
    (job,) = jobs_of_run(state, run.id)
    assert job.supervisor_pid is not None
    assert Path(job.job_dir, "job.sh").exists()
    assert Path(job.job_dir).parent.name == f"{run.name}-{run.id[:8]}"

    def done():
        refresh_runs(state)
        return get_run_by_name(state, run.name).status is RunStatus.DONE

    wait_for(done)


def test_gpu_count_and_working_dir_reach_the_job_environment(tmp_path):
    path = tmp_path / "g.dstack.yml"
    path.write_text(
        "type: task\nname: gpu-job\nworking_dir: sub\nenv: {DSTACK_RUN_NAME: spoofed, A: b}\n"
        "commands: [echo]\n"
    )
    conf = load_configuration(path).configuration
    job = build_job(conf, run_name="gpu-job", run_id="id-1", gpus=2)
    spec = job_for_submission(job, tmp_path / "code")
    assert spec.env["DSTACK_GPUS_NUM"] == "2" and spec.env["DSTACK_GPUS_PER_NODE"] == "2"
    assert spec.env["DSTACK_RUN_NAME"] == "gpu-job"  # the truth wins over the configuration
    assert spec.env["A"] == "b"
    assert spec.env["DSTACK_WORKING_DIR"] == str(tmp_path / "code" / "sub")
    assert spec.gpus == 2
    image = job_for_submission(replace(job, image="ubuntu"), tmp_path / "code")
    assert image.env["DSTACK_WORKING_DIR"] == "/workflow/sub"


def test_a_job_whose_submitter_died_before_its_supervisor_started_fails(tmp_path, state):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    token = process_token(dead.pid)
    dead.wait()
    run = create_run(state, name="orphan")
    job = create_job(state, run.id)
    update_job(
        state,
        job.id,
        supervisor_pid=dead.pid,
        supervisor_token=token or "gone",
        supervisor_host=socket.gethostname(),
    )
    refresh_runs(state)
    job = get_job(state, job.id)
    assert job.status.value == "failed"
    assert get_run_by_name(state, "orphan").status is RunStatus.FAILED
