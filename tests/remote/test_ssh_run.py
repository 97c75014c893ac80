"""A task on an SSH fleet, end to end through the real CLI and real sshd daemons."""

from __future__ import annotations

from pathlib import Path

from .helpers import apply_fleet, dstack, ps_json, task_file


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
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"home={daemon.home}\nuploaded\nrank=0\n" in proc.stdout
    run = ps_json()["hello"]
    assert (run["status"], run["backend"]) == ("failed", "ssh")
    jobs = list((daemon.home / ".fleetstack" / "jobs").iterdir())
    assert len(jobs) == 1 and (jobs[0] / "exit_code").read_text() == "3\n"
