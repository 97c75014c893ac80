"""The real CLI and a background server on this machine: runs start, wait for capacity and
finish with no command typed in between; the server is found, woken and stopped."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from fleetstack.engine.reconciler import daemon
from fleetstack.engine.state import RunStatus, get_run_by_name

from ..helpers import wait_for
from ..runs.conftest import DSTACK, dstack
from .conftest import task

CPUS = os.cpu_count() or 1


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.dstack.yml"
    path.write_text(text)
    return path


def _status(state, name: str) -> RunStatus | None:
    run = get_run_by_name(state, name)
    return run.status if run is not None else None


def test_a_detached_run_is_done_in_the_database_without_anyone_looking(state, tmp_path):
    config = _write(tmp_path, "detached", task("detached", "echo detached-output"))

    applied = dstack("apply", "-f", str(config), "-y", "-d", cwd=tmp_path)

    assert applied.returncode == 0, applied.stderr
    assert b"Started the fleetstack server in the background (log: " in applied.stderr
    wait_for(lambda: _status(state, "detached") is RunStatus.DONE, "detached run done")
    assert daemon.running_server(daemon.default_url()) is not None


def test_b_waits_for_capacity_and_starts_when_a_ends_c_fails_naming_a(state, tmp_path):
    gate = tmp_path / "gate"
    a = _write(tmp_path, "a", task("run-a", f"while [ ! -e {gate} ]; do sleep 0.1; done", cpu=CPUS))
    retry = "retry: {on_events: [no-capacity], duration: 10m}\n"
    b = _write(tmp_path, "b", task("run-b", "echo b-ran", cpu=1, extra=retry))
    c = _write(tmp_path, "c", task("run-c", "echo c-ran", cpu=1))

    assert dstack("apply", "-f", str(a), "-y", "-d", cwd=tmp_path).returncode == 0
    wait_for(lambda: _status(state, "run-a") is RunStatus.RUNNING, "a running")
    assert dstack("apply", "-f", str(b), "-y", "-d", cwd=tmp_path).returncode == 0
    wait_for(lambda: _status(state, "run-b") is RunStatus.PENDING, "b pending for capacity")
    # at once: 15 s after its failure, `ps` itself resubmits b (submitted, its reason gone)
    ps = dstack("ps", "-v", cwd=tmp_path)
    assert b"held by run-a" in ps.stdout  # b's reason, while it waits
    assert re.search(rb"run-b .*pending \(retry (in \d+s|now)\)", ps.stdout), ps.stdout
    attached_c = dstack("apply", "-f", str(c), "-y", cwd=tmp_path)

    assert attached_c.returncode == 1
    assert b"no capacity on this machine: run-c needs 1 CPU" in attached_c.stderr
    assert b"held by run-a" in attached_c.stderr
    gate.touch()  # a ends; nobody types anything
    wait_for(lambda: _status(state, "run-b") is RunStatus.DONE, "b done by itself", timeout=90)


def test_server_stop_and_a_second_foreground_server_is_refused(state, tmp_path):
    server = subprocess.Popen(
        [DSTACK, "server", "--port", "9"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for(lambda: daemon.running_server(daemon.default_url()) == server.pid, "server up",
                 process=server)  # fmt: skip
        second = dstack("server")
        assert second.returncode == 1
        assert b"a fleetstack server already runs for" in second.stderr
        stopped = dstack("server", "--stop")
        assert stopped.stdout == f"Stopped the fleetstack server (pid {server.pid}).\n".encode()
        _, err = server.communicate(timeout=30)
        assert b"--host/--port are reserved for the later HTTP API" in err
        assert (
            dstack("server", "--stop").stdout == b"No fleetstack server runs for this database.\n"
        )
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
