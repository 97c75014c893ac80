"""Ctrl-C of an attached `dstack apply`: asks on a terminal, stops when nobody can answer."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import yaml
from fleetstack.engine.runs.control import stop_run
from fleetstack.engine.runs.lifecycle import refresh_runs
from fleetstack.engine.state import RunStatus, RunTerminationReason, get_run_by_name, jobs_of_run

from ..helpers import WAIT, wait_for
from .conftest import DSTACK

NAME = "ctrl-c"


def _start(project, **popen):
    config = project(
        yaml.safe_dump({"type": "task", "name": NAME, "commands": ["echo up", "sleep 120"]})
    )
    return subprocess.Popen(
        [DSTACK, "apply", "-f", str(config), "-y"], cwd=config.parent, env=dict(os.environ), **popen
    )


def _running(state):
    """The job has printed "up": its commands run (running alone may be before they start)."""

    def check():
        refresh_runs(state)
        run = get_run_by_name(state, NAME)
        if run is None or run.status is not RunStatus.RUNNING:
            return False
        (job,) = jobs_of_run(state, run.id)
        return Path(job.log_path).exists() and Path(job.log_path).read_bytes() == b"up\n"

    return check


def test_ctrl_c_without_a_terminal_stops_the_run(project, state):
    cli = _start(project, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(_running(state))
        cli.send_signal(signal.SIGINT)
        out, err = cli.communicate(timeout=WAIT)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 1
    assert b"up\n" in out
    run = get_run_by_name(state, NAME)
    assert run.status is RunStatus.TERMINATED
    assert run.termination_reason is RunTerminationReason.STOPPED_BY_USER


def _read_until(fd: int, needle: bytes, timeout: float = WAIT) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} never came; got {seen!r}"
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _ask(project, state, answer: bytes) -> tuple[int, bytes]:
    leader, follower = pty.openpty()
    cli = _start(project, stdin=follower, stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    try:
        wait_for(_running(state))
        cli.send_signal(signal.SIGINT)
        seen = _read_until(leader, b"[y/n]")
        os.write(leader, answer)
        code = cli.wait(timeout=WAIT)
    finally:
        if cli.poll() is None:
            cli.kill()
        os.close(leader)
    return code, seen


def test_ctrl_c_then_n_detaches_and_the_run_goes_on(project, state):
    code, seen = _ask(project, state, b"n\n")
    assert b"Stop the run" in seen and NAME.encode() in seen
    assert code == 0
    refresh_runs(state)
    assert get_run_by_name(state, NAME).status is RunStatus.RUNNING
    stop_run(state, NAME, abort=True)


def test_ctrl_c_then_y_stops_the_run(project, state):
    code, _ = _ask(project, state, b"y\n")
    assert code == 1
    run = get_run_by_name(state, NAME)
    assert run.status is RunStatus.TERMINATED
    assert run.termination_reason is RunTerminationReason.STOPPED_BY_USER
