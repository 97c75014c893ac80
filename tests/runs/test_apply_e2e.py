"""`dstack apply` end to end: the real CLI as a subprocess, real supervisors, the state DB."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import yaml
from fleetstack.engine.runner.supervisor import read_pid_file
from fleetstack.engine.runs.lifecycle import refresh_runs
from fleetstack.engine.state import (
    RunStatus,
    RunTerminationReason,
    get_run_by_name,
    jobs_of_run,
    list_runs,
)

from ..helpers import WAIT, wait_for
from .conftest import DSTACK, dstack


def _config(**fields) -> str:
    return yaml.safe_dump({"type": "task", "name": "job-t", **fields}, allow_unicode=True)


def _finished(state, name):
    def check():
        refresh_runs(state)
        run = get_run_by_name(state, name)
        return run if run is not None and run.status.is_finished else None

    return check


def test_task_that_prints_and_exits_0(project, state):
    config = project(_config(commands=["echo hello-from-job", "echo second line"]))
    result = dstack("apply", "-f", str(config), "-y", cwd=config.parent)
    assert result.returncode == 0, result.stderr.decode()
    assert b"hello-from-job\nsecond line\n" in result.stdout
    assert b"job-t running" in result.stderr and b"job-t done" in result.stderr
    run = wait_for(_finished(state, "job-t"))
    assert run.status is RunStatus.DONE
    assert run.termination_reason is RunTerminationReason.ALL_JOBS_DONE
    assert run.backend == "local"
    listed = dstack("ps", "-a", cwd=config.parent)
    assert listed.returncode == 0, listed.stderr.decode()
    (row,) = [line.split() for line in listed.stdout.decode().splitlines() if "job-t" in line]
    assert row[:2] == ["job-t", "local"] and "done" in row


def test_exit_3_fails_the_run_and_the_cli(project, state):
    config = project(_config(commands=["echo before", "exit 3", "echo never"]))
    result = dstack("apply", "-f", str(config), "-y", cwd=config.parent)
    assert result.returncode == 3  # the task's exit code
    assert b"before\n" in result.stdout
    assert b"never" not in result.stdout
    assert "run job-t failed: exited (3)" in result.stderr.decode()
    run = get_run_by_name(state, "job-t")
    assert run.status is RunStatus.FAILED
    assert run.error == "exited (3)"
    assert "Traceback" not in result.stderr.decode()


def test_run_args_reach_the_commands(project, tmp_path):
    out = tmp_path / "args.txt"
    config = project(
        _config(commands=[f"printf '<%s>' ${{{{ run.args }}}} > {out}"]),
    )
    result = dstack("apply", "-f", str(config), "-y", "--", "a", "b c", cwd=config.parent)
    assert result.returncode == 0, result.stderr.decode()
    assert out.read_text() == "<a><b c>"


def test_hostile_env_values_arrive_byte_for_byte_and_execute_nothing(project, tmp_path):
    values = {
        "QUOTES": 'it\'s "quoted" \\ back\\slash',
        "SUBST": "$(touch pwned1) ${HOME} $HOME",
        "TICKS": "`touch pwned2`",
        "LINES": "line one\nline two\n\nend",
        "UNICODE": "héllo wörld ✓ 日本",
        "SEMI": "; touch pwned3 && echo x | cat",
    }
    outdir = tmp_path / "out"
    outdir.mkdir()
    commands = [f'printf %s "${name}" > {outdir}/{name}' for name in values]
    config = project(_config(env=values, commands=commands))
    result = dstack("apply", "-f", str(config), "-y", cwd=config.parent)
    assert result.returncode == 0, result.stderr.decode()
    for name, value in values.items():
        assert (outdir / name).read_bytes() == value.encode(), name
    for root in (config.parent, outdir, tmp_path):
        assert not list(root.rglob("pwned*"))
    from fleetstack.engine.paths import dstack_home

    assert not list(dstack_home().rglob("pwned*"))


def test_dstack_variables_are_set(project, tmp_path):
    out = tmp_path / "env.txt"
    names = [
        "DSTACK_RUN_NAME",
        "DSTACK_NODE_RANK",
        "DSTACK_NODES_NUM",
        "DSTACK_MASTER_NODE_IP",
        "DSTACK_NODES_IPS",
        "DSTACK_GPUS_NUM",
        "DSTACK_GPUS_PER_NODE",
    ]
    line = " ".join(f"{n}=${n}" for n in names)
    config = project(
        _config(
            commands=[
                f'echo "{line}" > {out}',
                f"pwd >> {out}",
                f'echo "$DSTACK_WORKING_DIR" >> {out}',
            ]
        )
    )
    result = dstack("apply", "-f", str(config), "-y", cwd=config.parent)
    assert result.returncode == 0, result.stderr.decode()
    first, cwd, working_dir = out.read_text().splitlines()
    assert first.startswith(
        "DSTACK_RUN_NAME=job-t DSTACK_NODE_RANK=0 DSTACK_NODES_NUM=1 "
        "DSTACK_MASTER_NODE_IP=127.0.0.1 DSTACK_NODES_IPS=127.0.0.1 DSTACK_GPUS_NUM="
    )
    assert cwd == working_dir
    assert cwd.endswith("/job-0-0/code")


def test_max_duration_terminates_the_run(project, state):
    config = project(_config(commands=["echo started", "sleep 60"], max_duration="2s"))
    result = dstack("apply", "-f", str(config), "-y", cwd=config.parent)
    assert result.returncode == 1
    assert "run job-t terminated: max duration exceeded" in result.stderr.decode()
    run = get_run_by_name(state, "job-t")
    assert run.status is RunStatus.TERMINATED
    assert run.termination_reason is RunTerminationReason.MAX_DURATION_EXCEEDED


def test_gitignore_and_dstackignore_are_respected(project, tmp_path):
    out = tmp_path / "files.txt"
    config = project(
        _config(commands=[f"find . -type f | sort > {out}"]),
        files={
            ".gitignore": "*.ckpt\nnested/skip/\n",
            ".dstackignore": "data/\n",
            "train.py": "print()\n",
            "model.ckpt": "x",
            "data/big.bin": "x",
            "nested/keep.txt": "x",
            "nested/skip/no.txt": "x",
            "nested/.gitignore": "*.tmp\n",
            "nested/a.tmp": "x",
        },
        git=True,
    )
    result = dstack("apply", "-f", str(config), "-y", cwd=config.parent)
    assert result.returncode == 0, result.stderr.decode()
    assert out.read_text().split() == [
        "./.dstack.yml",
        "./.dstackignore",
        "./.gitignore",
        "./nested/.gitignore",
        "./nested/keep.txt",
        "./train.py",
    ]


def test_detach_returns_at_once_and_the_run_finishes(project, state):
    config = project(_config(commands=["sleep 1", "echo detached-output"]))
    result = dstack("apply", "-f", str(config), "-y", "-d", cwd=config.parent)
    assert result.returncode == 0, result.stderr.decode()
    assert b"dstack logs job-t -f" in result.stdout
    run = wait_for(_finished(state, "job-t"))
    assert run.status is RunStatus.DONE
    (job,) = jobs_of_run(state, run.id)
    assert Path(job.log_path).read_bytes() == b"detached-output\n"


def test_a_live_run_with_the_same_name_is_refused(project, state):
    config = project(_config(commands=["sleep 30"]))
    assert dstack("apply", "-f", str(config), "-y", "-d", cwd=config.parent).returncode == 0
    again = dstack("apply", "-f", str(config), "-y", "-d", cwd=config.parent)
    assert again.returncode == 1
    assert "run job-t is still" in again.stderr.decode()
    assert "Traceback" not in again.stderr.decode()
    from fleetstack.engine.runs.control import stop_run

    stop_run(state, "job-t", abort=True)


def test_kill_9_of_the_attached_cli_leaves_the_run_going(project, state, tmp_path):
    marker = tmp_path / "go"
    config = project(
        _config(commands=[f"while [ ! -e {marker} ]; do sleep 0.1; done", "echo finished"])
    )
    cli = subprocess.Popen(
        [DSTACK, "apply", "-f", str(config), "-y"],
        cwd=config.parent,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def running():
            refresh_runs(state)
            run = get_run_by_name(state, "job-t")
            return run is not None and run.status is RunStatus.RUNNING

        wait_for(running)
        cli.send_signal(signal.SIGKILL)
        cli.wait(timeout=WAIT)
        refresh_runs(state)
        assert get_run_by_name(state, "job-t").status is RunStatus.RUNNING
        marker.touch()
        run = wait_for(_finished(state, "job-t"))
    finally:
        if cli.poll() is None:
            cli.kill()
    assert run.status is RunStatus.DONE
    (job,) = jobs_of_run(state, run.id)
    assert Path(job.log_path).read_bytes() == b"finished\n"


def test_twenty_detached_runs_at_once_all_finish(project, state, tmp_path):
    configs = []
    for i in range(20):
        path = tmp_path / f"run{i}.dstack.yml"
        # small enough that all twenty fit on this machine together (placement shares it)
        small = {"cpu": "0..", "memory": "0GB..", "disk": "1GB.."}
        path.write_text(_config(name=f"run-{i}", commands=[f"echo run-{i}"], resources=small))
        configs.append(path)
    procs = [
        subprocess.Popen(
            [DSTACK, "apply", "-f", str(path), "-y", "-d"],
            cwd=tmp_path,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for path in configs
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=WAIT * 2)
        assert proc.returncode == 0, err.decode()

    def all_done():
        refresh_runs(state)
        runs = list_runs(state)
        return len(runs) == 20 and all(r.status.is_finished for r in runs) and runs

    runs = wait_for(all_done, timeout=WAIT * 2)
    assert {r.name for r in runs} == {f"run-{i}" for i in range(20)}
    assert all(r.status is RunStatus.DONE for r in runs)
    for run in runs:
        (job,) = jobs_of_run(state, run.id)
        assert Path(job.log_path).read_bytes() == f"{run.name}\n".encode()


def test_retry_on_error_resubmits_the_job(project, state, tmp_path):
    mark = tmp_path / "failed-once"
    config = project(
        _config(
            commands=[
                f"if [ ! -e {mark} ]; then touch {mark}; echo first; exit 1; fi",
                "echo second",
            ],
            retry={"on_events": ["error"], "duration": "1h"},
        )
    )
    result = dstack("apply", "-f", str(config), "-y", cwd=config.parent, timeout=WAIT * 2)
    assert result.returncode == 0, result.stderr.decode()
    assert b"first\n" in result.stdout and b"second\n" in result.stdout
    statuses = [line.split()[1] for line in result.stderr.decode().splitlines() if "job-t" in line]
    assert statuses[:3] == ["submitted", "running", "pending"]
    assert b"job-t pending (exited (1); retrying in 15s)" in result.stderr
    assert b"resubmitted" in result.stderr
    run = get_run_by_name(state, "job-t")
    assert run.status is RunStatus.DONE
    assert [j.submission_num for j in jobs_of_run(state, run.id)] == [0, 1]


def _container_runtime_works() -> bool:
    for name in ("docker", "podman"):
        path = shutil.which(name)
        if path and subprocess.run([path, "info"], capture_output=True).returncode == 0:
            return True
    return False


@pytest.mark.skipif(_container_runtime_works(), reason="a container runtime answers here")
def test_image_without_a_container_runtime_fails_with_the_reason(project, state):
    config = project(_config(image="python:3.11-slim", commands=["python -V"]))
    result = dstack("apply", "-f", str(config), "-y", cwd=config.parent)
    assert result.returncode == 125  # the job's exit code, docker's for "cannot run"
    stderr = result.stderr.decode()
    assert "run job-t failed: exited (125): image python:3.11-slim needs docker or podman" in stderr
    run = get_run_by_name(state, "job-t")
    assert run.status is RunStatus.FAILED
    assert "needs docker or podman" in run.error


def test_a_detached_run_is_retried_while_nobody_looks(project, state, tmp_path):
    mark = tmp_path / "failed-once"
    config = project(
        _config(
            commands=[f"if [ ! -e {mark} ]; then touch {mark}; exit 1; fi", "echo second"],
            retry={"on_events": ["error"], "duration": "1h"},
        )
    )
    result = dstack("apply", "-f", str(config), "-y", "-d", cwd=config.parent)
    assert result.returncode == 0, result.stderr.decode()

    def finished_without_refresh():  # only the run's watcher moves it on
        run = get_run_by_name(state, "job-t")
        return run if run.status.is_finished else None

    run = wait_for(finished_without_refresh, timeout=WAIT * 2)
    assert run.status is RunStatus.DONE
    jobs = jobs_of_run(state, run.id)
    assert [j.submission_num for j in jobs] == [0, 1]
    assert Path(jobs[1].log_path).read_bytes() == b"second\n"


def test_a_run_whose_supervisor_vanished_is_reported_failed(project, state):
    config = project(_config(commands=["sleep 120"]))
    assert dstack("apply", "-f", str(config), "-y", "-d", cwd=config.parent).returncode == 0

    def job_running():
        refresh_runs(state)
        run = get_run_by_name(state, "job-t")
        jobs = jobs_of_run(state, run.id)
        return run.status is RunStatus.RUNNING and jobs

    (job,) = wait_for(job_running)
    handle = read_pid_file(job.job_dir)
    os.kill(handle.pid, signal.SIGKILL)
    run = wait_for(_finished(state, "job-t"))
    assert run.status is RunStatus.FAILED
    assert run.error == "supervisor vanished"
    # the job's own processes may outlive a killed supervisor: end them for the next tests
    for pid in _children_of_session(job):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _children_of_session(job) -> list[int]:
    """Processes working in this job's own project copy (nobody else's)."""
    code_dir = str(Path(job.job_dir) / "code")
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.readlink(proc / "cwd") == code_dir:
                found.append(int(proc.name))
        except OSError:
            continue
    return found


FAKE_DOCKER = r"""#!/usr/bin/env bash
# A stand-in for docker: answers `info`, logs every call, runs `run` in place of a container.
printf '%s\n' "$*" >> FAKE_DOCKER_LOG
case "$1" in
  info | rm | stop) exit 0 ;;
  run) shift ;;
  *) exit 0 ;;
esac
workdir="" script=""
while [ $# -gt 0 ]; do
  case "$1" in
    -v)
      case "$2" in
        *:/workflow) workdir="${2%:/workflow}" ;;
        *:/fleetstack/job.sh:ro) script="${2%:/fleetstack/job.sh:ro}" ;;
      esac
      shift 2 ;;
    --entrypoint) shift 3; break ;;  # --entrypoint bash IMAGE
    --rm | --init) shift ;;
    *) shift 2 ;;
  esac
done
shift  # /fleetstack/job.sh
cd "$workdir" && exec bash "$script" "$@"
"""


def test_image_runs_through_a_container_runtime_when_one_answers(project, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    calls = tmp_path / "docker.log"
    # the job gets PATH but not the CLI's other variables: the log's path is in the script
    fake.write_text(FAKE_DOCKER.replace("FAKE_DOCKER_LOG", shlex.quote(str(calls))))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = project(
        _config(
            image="python:3.11-slim",
            env={"GREETING": "hi $(touch pwned) there"},
            commands=['echo "in container: $GREETING"', "ls"],
        ),
        files={"train.py": "print()\n", ".gitignore": "*.bin\n", "w.bin": "x"},
        git=True,
    )
    result = dstack("apply", "-f", str(config), "-y", cwd=config.parent)
    assert result.returncode == 0, result.stderr.decode()
    assert b"in container: hi $(touch pwned) there\n" in result.stdout
    assert b"train.py" in result.stdout and b"w.bin" not in result.stdout
    run_call = next(line for line in calls.read_text().splitlines() if line.startswith("run "))
    assert "-e GREETING" in run_call and "-e DSTACK_RUN_NAME" in run_call
    assert "/job-0-0/code:/workflow" in run_call
    assert "python:3.11-slim" in run_call
