"""`dstack ps` end to end: the real CLI in a subprocess over runs that really run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path


def _session(sid: int) -> list[int]:
    """Live processes of session `sid`: the job script leads one, its commands sit in
    process groups of their own inside it, and a killed parent hands its children to init."""
    return [
        pid for pid, state, _ppid, session in _processes() if session == sid and state not in "ZX"
    ]


def _sleeping(sid: int) -> bool:
    """Whether the job's last command, `sleep 300`, runs in session `sid`."""
    for pid in _session(sid):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x00300\x00":
                return True
        except OSError:
            continue
    return False


def _children(pid: int) -> list[int]:
    return [child for child, _state, ppid, _session in _processes() if ppid == pid]


def _processes() -> list[tuple[int, str, int, int]]:
    """(pid, state, ppid, session) of every process, from /proc/PID/stat."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid, _pgrp, session = stat[stat.rindex(")") + 2 :].split()[:4]
        found.append((int(entry.name), state, int(ppid), int(session)))
    return found


def test_ps_shows_a_running_run_then_the_done_run(cli, submit, gate):
    submit("gated", ["echo started", cli.wait_on(gate), "echo finished"], until="running")
    proc = cli.run("ps")
    assert proc.returncode == 0, proc.stderr
    header, row = proc.stdout.decode().splitlines()
    assert header.split() == ["NAME", "BACKEND", "GPU", "PRICE", "STATUS", "SUBMITTED"]
    assert row.split()[:5] == ["gated", "local", "-", "$0", "running"]
    submitted = " ".join(row.split()[5:])  # a run submitted within the last WAIT seconds
    assert re.fullmatch(r"now|\d+ secs? ago|1 min ago", submitted), row
    gate.touch()
    cli.wait_for_status("gated", "done")
    # Nothing active: plain `dstack ps` shows the last finished run.
    out = cli.run("ps").stdout.decode()
    assert "gated" in out and "done" in out


def test_ps_all_last_json_and_verbose(cli, submit):
    submit("first", ["echo one"], until="done")
    submit("second", ["echo two", "exit 3"], until="failed")
    submit("third", ["echo three"], until="done")

    default = cli.run("ps").stdout.decode()
    assert "third" in default and "second" not in default and "first" not in default

    every = cli.run("ps", "-a").stdout.decode().splitlines()
    assert [line.split()[0] for line in every[1:]] == ["third", "second", "first"]

    last_two = cli.run("ps", "-n", "2").stdout.decode().splitlines()
    assert [line.split()[0] for line in last_two[1:]] == ["third", "second"]

    verbose = cli.run("ps", "-a", "-v").stdout.decode().splitlines()
    assert verbose[0].split()[-1] == "ERROR"
    (failed_row,) = [line for line in verbose if line.startswith("second")]
    assert "failed" in failed_row and failed_row.endswith("exited (3)")

    runs = json.loads(cli.run("ps", "-a", "--json").stdout)["runs"]
    assert [r["name"] for r in runs] == ["third", "second", "first"]
    second = runs[1]
    assert second["status"] == "failed"
    assert second["error"] == "exited (3)"
    assert second["exit_status"] == 3
    assert second["backend"] == "local"
    assert second["price"] == 0
    assert second["submitted_at"].endswith("Z") and second["finished_at"].endswith("Z")
    for key in ("region", "gpu", "termination_reason", "started_at", "resources"):
        assert key in second
    assert runs[0]["error"] is None


def test_ps_with_no_database_says_there_are_no_runs(cli):
    proc = cli.run("ps")
    assert proc.returncode == 0
    assert b"No runs" in proc.stdout
    assert not (Path(os.environ["DSTACK_HOME"]) / "state.db").exists()
    assert json.loads(cli.run("ps", "--json").stdout) == {"runs": []}


def test_a_job_killed_with_its_supervisor_shows_failed_with_a_reason(cli, submit):
    submit("orphan", ["echo started", "sleep 300"], until="running")
    job_dir = cli.job_dir("orphan")
    supervisor_pid = json.loads((job_dir / "supervisor.pid").read_text())["pid"]
    (script_pid,) = _children(supervisor_pid)
    # `running` is recorded beside the script's start: its commands may not run yet
    cli.wait_for(lambda: _sleeping(script_pid), "sleep 300 to run in the job's session")
    job = _session(script_pid)  # taken before any kill: the script, bash -e, sleep 300
    assert len(job) >= 2, job
    os.kill(supervisor_pid, signal.SIGKILL)
    for pid in job:
        os.kill(pid, signal.SIGKILL)
    cli.wait_for(lambda: not _session(script_pid), "the job's processes to be gone")
    run = cli.wait_for_status("orphan", "failed")
    assert run["error"] == "supervisor vanished"
    row = cli.run("ps", "-a", "-v").stdout.decode().splitlines()[1]
    assert row.startswith("orphan") and "failed" in row and "supervisor vanished" in row


def test_ps_watch_redraws_until_ctrl_c_and_exits_cleanly(cli, submit, gate):
    submit("watched", [cli.wait_on(gate)], until="running")
    proc = subprocess.Popen(
        [cli.executable, "ps", "-w"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    try:
        cli.read_until(proc, b"watched")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=cli.wait)
    finally:
        if proc.poll() is None:
            proc.kill()
        gate.touch()
    assert proc.returncode == 0
    assert b"Traceback" not in err


def test_ps_rejects_json_with_watch_and_a_bad_count(cli):
    proc = cli.run("ps", "-w", "--json")
    assert proc.returncode == 1
    assert "--json cannot be combined with -w/--watch" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = cli.run("ps", "-n", "0")
    assert proc.returncode == 1 and "-n/--last must be 1 or more" in proc.stderr


def test_ps_tells_the_truth_after_kill_9_of_an_attached_apply(cli, project, gate):
    config = project / "attached.dstack.yml"
    config.write_text(
        "type: task\nname: attached\ncommands:\n"
        f"  - {json.dumps(cli.wait_on(gate))}\n  - echo finished\n"
        "resources:\n  cpu: 1..\n  memory: 1GB..\n  disk: 1GB..\n"
    )
    apply = subprocess.Popen(
        [cli.executable, "apply", "-f", str(config), "-y"],
        cwd=project,
        env=os.environ.copy(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        cli.wait_for_status("attached", "running")
        apply.send_signal(signal.SIGKILL)
        apply.wait(timeout=cli.wait)
        assert cli.run_of("attached")["status"] == "running"  # the job outlives its CLI
        gate.touch()
        run = cli.wait_for_status("attached", "done", "failed", "terminated")
    finally:
        if apply.poll() is None:
            apply.kill()
        gate.touch()
    assert run["status"] == "done"
    assert cli.run("logs", "attached").stdout == b"finished\n"
