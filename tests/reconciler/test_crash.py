"""Crash tests: `kill -9` of the CLI and of the background server, for real, at each step of
submit -> provision -> run -> idle -> release (24 kills), then a restart; four invariants must hold:

- no stack without a fleet row;
- no fleet row without a stack (live fleets, once the server has passed);
- no job process alive for a run reported finished;
- no run left running (or stuck anywhere) whose job is gone: every run finishes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from fleetstack.engine.reconciler import daemon
from fleetstack.engine.runner import jobtree
from fleetstack.engine.state import close_all, jobs_of_run, list_fleets, list_runs, open_state

from ..engines.conftest import (
    ENTRY,
    recording_cli,  # noqa: F401 - the fixture
)
from ..helpers import wait_for

TASK = "type: task\nname: {name}\ncommands: ['sleep 0.3', 'echo {name}']\n"
TASK += "backends: [local]\nresources: {{cpu: 0.., memory: 0GB..}}\n"
CLOUD_TASK = "type: task\nname: {name}\ncommands: [echo {name}]\nbackends: [aws]\n"
FLEET = "type: fleet\nname: {name}\nnodes: {{min: 0, target: 1, max: 1}}\nidle_duration: 1s\n"
RNG = random.Random(14)


def test_kill_9_at_every_step_leaves_nothing_stuck_or_orphaned(recording_cli, tmp_path):  # noqa: F811
    kills = 0
    for i in range(8):  # the CLI killed while it submits
        config = _write(tmp_path, f"sub-{i}", TASK.format(name=f"sub-{i}"))
        kills += _kill_cli_after(recording_cli, config, RNG.uniform(0.2, 1.2))
    for i in range(8):  # the server killed while it places, starts and follows runs
        config = _write(tmp_path, f"run-{i}", TASK.format(name=f"run-{i}"))
        assert recording_cli("apply", "-f", str(config), "-y", "-d", cwd=tmp_path).returncode == 0
        time.sleep(RNG.uniform(0.0, 0.8))  # a random moment of its work, not a condition
        kills += _kill_server()
    for i in range(4):  # the server killed while it releases idle fleets
        config = _write(tmp_path, f"idle-{i}", FLEET.format(name=f"idle-{i}"))
        assert recording_cli("apply", "-f", str(config), "-y", "-b", "aws").returncode == 0
        recording_cli("ps")  # wakes or starts the server: it releases the fleet a second later
        time.sleep(RNG.uniform(0.5, 2.0))
        kills += _kill_server()
    for i in range(4):  # the provisioner or the server killed while a run's fleet comes up
        config = _write(tmp_path, f"cloud-{i}", CLOUD_TASK.format(name=f"cloud-{i}"))
        assert recording_cli("apply", "-f", str(config), "-y", "-d", cwd=tmp_path).returncode == 0
        time.sleep(RNG.uniform(0.0, 1.0))
        kills += _kill_provisioners() if i % 2 == 0 else _kill_server()
    print(f"{kills} of 24 kills landed on a live process")  # the rest had already ended

    recording_cli("ps")  # restart: the server picks everything up
    state = open_state()
    try:
        wait_for(
            lambda: _all_settled(state), "every run finished, every fleet released", timeout=90
        )
        _assert_invariants(state, recording_cli.engine.stacks())
    finally:
        close_all()


def _write(tmp_path, name, text):
    path = tmp_path / f"{name}.dstack.yml"
    path.write_text(text)
    return path


def _kill_cli_after(recording_cli, config, delay: float) -> int:  # noqa: F811
    proc = subprocess.Popen(
        [sys.executable, str(ENTRY), "apply", "-f", str(config), "-y", "-d"],
        cwd=config.parent,
        env=recording_cli.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)  # a random moment of its work, not a condition
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return int(alive)


def _kill_server() -> int:
    pid = daemon.running_server(daemon.default_url())
    if pid is None or pid < 0:
        return 0
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: daemon.running_server(daemon.default_url()) is None, "server gone")
    return 1


def _kill_provisioners() -> int:
    """kill -9 of this test's provisioners (`dstack server --provision JOB`): the processes
    whose command line says so and whose DSTACK_HOME is this test's."""
    home = os.environ["DSTACK_HOME"].encode()
    killed = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--provision" in argv and b"DSTACK_HOME=" + home in environ:
            os.kill(int(entry), signal.SIGKILL)
            killed += 1
    return min(killed, 1)


def _all_settled(state) -> bool:
    runs = list_runs(state)
    fleets = list_fleets(state, include_finished=False)
    return all(r.status.is_finished for r in runs) and not fleets


def _assert_invariants(state, stacks: list[str]) -> None:
    live = [f for f in list_fleets(state, include_finished=False)]
    assert sorted(stacks) == sorted(f.stack_name for f in live if f.stack_name)  # 1 and 2
    for run in list_runs(state):
        assert run.status.is_finished, run  # 4
        for job in jobs_of_run(state, run.id):
            tree = jobtree.read_tree(job.job_dir) if job.job_dir else None
            assert tree is None or jobtree.members(tree) == [], (run.name, job.id)  # 3
