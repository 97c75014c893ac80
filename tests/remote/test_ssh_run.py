"""A task on an SSH fleet, end to end through the real CLI and real sshd daemons."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from fleetstack.engine.runner.jobcontrol import read_pid_file

from ..helpers import WAIT, is_running, wait_for
from .conftest import free_port
from .helpers import apply_fleet, dstack, fleet_file, ps_json, start_dstack, task_file


def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def test_a_task_runs_on_the_ssh_host_and_its_output_reaches_the_terminal(sshd, tmp_path):
    daemon = sshd()
    folder = project(tmp_path)
    (folder / "data.txt").write_text("uploaded\n")
    apply_fleet(folder, [daemon])
    task = task_file(
        folder,
        "hello",
        ['echo "home=$HOME"', "cat data.txt", "echo rank=$DSTACK_NODE_RANK", "exit 3"],
    )
    proc = dstack("apply", "-f", str(task), "-y", cwd=folder)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # the task's exit code
    assert f"home={daemon.home}\nuploaded\nrank=0\n" in proc.stdout
    run = ps_json()["hello"]
    assert (run["status"], run["backend"]) == ("failed", "ssh")
    jobs = list((daemon.home / ".fleetstack" / "jobs").iterdir())
    assert len(jobs) == 1 and (jobs[0] / "exit_code").read_text() == "3\n"


def test_the_log_survives_a_connection_killed_mid_run_without_loss_or_duplication(sshd, tmp_path):
    daemon = sshd()
    folder = project(tmp_path)
    apply_fleet(folder, [daemon])
    gate, task = _gated(folder, daemon, "counter", 200)
    attached = start_dstack("apply", "-f", str(task), "-y", cwd=folder)
    try:
        log = wait_for(lambda: _job_log("counter"), "the job's local log")
        wait_for(lambda: b"line-200\n" in log.read_bytes(), "the first 200 lines", process=attached)
        sessions = wait_for(daemon.session_pids, "the follower's SSH session")
        for pid in sessions:  # the connection drops: the follower must reconnect
            os.kill(pid, signal.SIGKILL)
        gate.touch()
        out, err = attached.communicate(timeout=WAIT)
    finally:
        if attached.poll() is None:
            attached.kill()
            attached.wait()
    expected = "".join(f"line-{i}\n" for i in range(1, 401))
    assert attached.returncode == 0, err
    assert expected in out
    assert log.read_bytes() == expected.encode()


def test_stop_gives_the_grace_and_stop_x_kills_at_once(sshd, tmp_path):
    daemon = sshd()
    folder = project(tmp_path)
    apply_fleet(folder, [daemon])
    trapped = task_file(
        folder,
        "graceful",
        ["trap 'echo got-term; exit 0' TERM", "echo started", "while true; do sleep 0.1; done"],
    )
    assert dstack("apply", "-f", str(trapped), "-y", "-d", cwd=folder).returncode == 0
    wait_for(lambda: b"started" in (_job_log("graceful") or Path("/nonexistent")).read_bytes()
             if _job_log("graceful") else False, "the job to start")  # fmt: skip
    proc = dstack("stop", "graceful", "-y")
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: ps_json()["graceful"]["status"] == "terminated", "graceful terminated")
    assert b"got-term" in _job_log("graceful").read_bytes()

    stubborn = task_file(
        folder, "stubborn", ["trap '' TERM", "echo started", "while true; do sleep 0.1; done"],
        extra="stop_duration: 10m\n",
    )  # fmt: skip
    assert dstack("apply", "-f", str(stubborn), "-y", "-d", cwd=folder).returncode == 0
    wait_for(lambda: _job_log("stubborn") and b"started" in _job_log("stubborn").read_bytes(),
             "the job to start")  # fmt: skip
    proc = dstack("stop", "stubborn", "-x", "-y")
    assert proc.returncode == 0, proc.stderr
    run = wait_for(lambda: _final(ps_json()["stubborn"]), "stubborn to end")
    assert (run["status"], run["termination_reason"]) == ("terminated", "aborted_by_user")
    jobs = daemon.home / ".fleetstack" / "jobs"
    wait_for(lambda: all((d / "exit_code").exists() for d in jobs.iterdir()), "exit codes")
    assert not _processes_under(jobs), "a job process outlived the abort"


def test_the_upload_honours_gitignore_and_dstackignore(sshd, tmp_path):
    daemon = sshd()
    folder = project(tmp_path)
    (folder / ".git").mkdir()
    (folder / ".gitignore").write_text("*.log\nbuild/\n")
    (folder / ".dstackignore").write_text("secret.txt\n")
    for name in ("keep.txt", "drop.log", "secret.txt", "build/out.bin", "src/main.py"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    apply_fleet(folder, [daemon])
    task = task_file(folder, "listing", ["find . -type f -not -path './.git*' | sort"])
    proc = dstack("apply", "-f", str(task), "-y", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    listed = [line for line in proc.stdout.splitlines() if line.startswith("./")]
    assert listed == [
        "./.dstackignore", "./keep.txt", "./listing.dstack.yml", "./onprem.dstack.yml",
        "./src/main.py",
    ]  # fmt: skip


def test_an_unreachable_host_is_named_and_the_others_join(sshd, tmp_path):
    daemon = sshd()
    folder = project(tmp_path)
    dead = free_port()
    hosts = (
        f"    - hostname: 127.0.0.1\n      port: {daemon.port}\n"
        f"    - hostname: 127.0.0.1\n      port: {dead}\n"
    )
    path = fleet_file(folder, "onprem", [], hosts=hosts)
    proc = dstack("apply", "-f", str(path), "-y", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert f"root@127.0.0.1:{dead}: connection refused" in proc.stdout
    listing = dstack("fleet")
    assert listing.returncode == 0 and "onprem" in listing.stdout
    fleets = dstack("fleet", "--json")
    assert fleets.returncode == 0, fleets.stderr
    [fleet] = json.loads(fleets.stdout)
    assert [i["hostname"] for i in fleet["instances"]] == ["127.0.0.1"], fleet
    assert dstack("fleet", "delete", "onprem", "-y").returncode == 0
    assert "onprem" not in dstack("fleet").stdout


def _gated(folder: Path, daemon, name: str, half: int) -> tuple[Path, Path]:
    """A task printing line-1..line-HALF, waiting for the gate file, then up to 2*HALF."""
    gate = daemon.home / "go"
    task = task_file(
        folder,
        name,
        [
            f"for i in $(seq 1 {half}); do echo line-$i; done",
            f"while [ ! -e {gate} ]; do sleep 0.05; done",
            f"for i in $(seq {half + 1} {2 * half}); do echo line-$i; done",
        ],
    )
    return gate, task


def _job_log(name: str) -> Path | None:
    runs = Path(os.environ["DSTACK_HOME"]) / "runs"
    found = sorted(runs.glob(f"{name}-*/job-0-0/output.log"))
    return found[-1] if found else None


def _final(run: dict) -> dict | None:
    return run if run["status"] in ("done", "failed", "terminated") else None


def _replaced(job_dir: Path, dead: int) -> bool:
    """Whether the job's supervisor.pid names a live follower other than `dead`."""
    handle = read_pid_file(job_dir)
    return handle is not None and handle.pid != dead and is_running(handle.pid)


def _processes_under(folder: Path) -> list[int]:
    """Live processes whose command line names a path under `folder`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes()
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        if str(folder).encode() in cmdline and stat[stat.rindex(")") + 2] not in "ZX":
            found.append(int(entry.name))
    return found


def test_a_follower_killed_mid_run_is_replaced_and_the_log_resumes(sshd, tmp_path):
    daemon = sshd()
    folder = project(tmp_path)
    apply_fleet(folder, [daemon])
    gate, task = _gated(folder, daemon, "orphan", 100)
    assert dstack("apply", "-f", str(task), "-y", "-d", cwd=folder).returncode == 0
    log = wait_for(lambda: _job_log("orphan"), "the job's local log")
    wait_for(lambda: b"line-100\n" in log.read_bytes(), "the first 100 lines")
    pid_file = log.parent / "supervisor.pid"
    follower = json.loads(pid_file.read_text())["pid"]
    os.kill(follower, signal.SIGKILL)  # the local follower dies; the job runs on
    wait_for(lambda: not is_running(follower), "the follower to die")
    # The gate is still shut, so the job cannot have ended: this look (or the
    # background server) sees the follower gone and starts another, and the run
    # is not failed. (Opening the gate first let a fast job be `done` here.)
    assert ps_json()["orphan"]["status"] in ("submitted", "running")
    wait_for(lambda: _replaced(log.parent, follower), "a new follower")
    gate.touch()
    run = wait_for(lambda: _final(ps_json()["orphan"]), "the run to end")
    assert run["status"] == "done", run
    assert log.read_bytes() == "".join(f"line-{i}\n" for i in range(1, 201)).encode()


def test_without_fleets_an_idle_ssh_host_that_fits_takes_the_run(sshd, tmp_path):
    daemon = sshd()
    folder = project(tmp_path)
    apply_fleet(folder, [daemon])
    task = task_file(folder, "anywhere", ['echo "home=$HOME"'])
    task.write_text(task.read_text().replace("fleets: [onprem]\n", ""))
    proc = dstack("apply", "-f", str(task), "-y", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert f"home={daemon.home}\n" in proc.stdout
    assert ps_json()["anywhere"]["backend"] == "ssh"
