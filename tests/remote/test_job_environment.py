"""Only the configured env, the DSTACK_* variables and PATH/HOME/LANG reach a job, on the
local backend and on an SSH host alike: the CLI's own environment (credentials) does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .helpers import apply_fleet, dstack, task_file

ALLOWED = {"PATH", "HOME", "LANG", "PWD", "SHLVL", "_", "OLDPWD"}
# what fleetstack itself gives a local job: its own temp folder (removed at its end) and the
# mark its supervisor finds the job's processes by (engine/runner/jobtree.py)
LOCAL_ONLY = {"TMPDIR", "FLEETSTACK_JOB_MARK"}


@pytest.mark.parametrize("where", ["local", "ssh"])
def test_only_the_configured_env_reaches_the_job(where, sshd, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("MY_TOKEN", "do-not-leak")
    folder = tmp_path / "project"
    folder.mkdir()
    extra = "env:\n  - GREETING=hello\n"
    if where == "ssh":
        apply_fleet(folder, [sshd()])
    task = task_file(
        folder, "envcheck", ["env -0 > env.out", "echo ENV-FOLLOWS", "cat env.out"], extra=extra
    )
    if where == "local":
        task.write_text(task.read_text().replace("fleets: [onprem]\n", "backends: [local]\n"))
    proc = dstack("apply", "-f", str(task), "-y", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    dump = proc.stdout.split("ENV-FOLLOWS\n", 1)[1]
    seen = dict(item.split("=", 1) for item in dump.split("\0") if "=" in item)
    names = {name.strip() for name in seen}
    assert "do-not-leak" not in proc.stdout
    assert seen["GREETING"] == "hello"
    assert {"DSTACK_RUN_NAME", "DSTACK_NODE_RANK", "DSTACK_WORKING_DIR"} <= names
    others = {n for n in names if not n.startswith("DSTACK_") and n != "GREETING"}
    allowed = ALLOWED | (LOCAL_ONLY if where == "local" else set())
    assert others <= allowed, others - allowed
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "do-not-leak"


def test_a_secret_env_value_reaches_the_ssh_job_through_a_0600_job_env(sshd, tmp_path, monkeypatch):
    monkeypatch.setenv("API_TOKEN", "s3cr3t-value")
    daemon = sshd()
    folder = tmp_path / "project"
    folder.mkdir()
    apply_fleet(folder, [daemon])
    commands = ['echo "token=$API_TOKEN"', "echo mode=$(stat -c %a ../job.env)"]
    task = task_file(folder, "secretive", commands, extra="env:\n  - API_TOKEN\n")
    proc = dstack("apply", "-f", str(task), "-y", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert "token=s3cr3t-value\nmode=600\n" in proc.stdout  # job.env beside the script, 0600
    [job] = list((daemon.home / ".fleetstack" / "jobs").iterdir())
    assert not (job / "job.env").exists()  # the job script deletes it when the job ends
    assert b"s3cr3t-value" not in (job / "job.sh").read_bytes()
    [local] = list((Path(os.environ["DSTACK_HOME"]) / "runs").glob("secretive-*/job-0-0"))
    assert b"s3cr3t-value" not in (local / "remote.json").read_bytes()
