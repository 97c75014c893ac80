"""A stored secret and a `- NAME` value from the caller's environment reach the job, and
nothing else: not the plan, `ps`, the logs, the database, any file under $DSTACK_HOME (the
Pulumi state folder included), the cloud user-data or the stack's plain config."""

from __future__ import annotations

import base64
import gzip
import json
import os
import sqlite3
import uuid

import yaml
from fleetstack.engine.secrets import ENV_FILE, SecretStore
from fleetstack.engine.services.apply import plan_apply
from fleetstack.stacks.driver import stack_config
from fleetstack.templates.render import INSTANCE_JOB_SCRIPT_PATH

from .conftest import dstack, tree

STORED = f"hf_stored_{uuid.uuid4().hex}"
FROM_SHELL = f"wandb_shell_{uuid.uuid4().hex}"
CONFIG = """type: task
name: sec
env:
  - HF_TOKEN=${{{{ secrets.HF_TOKEN }}}}
  - WANDB_API_KEY
  - PLAIN=hello
commands:
  - printf '%s %s %s' "$HF_TOKEN" "$WANDB_API_KEY" "$PLAIN" > {seen}
  - echo job ran
resources:
  cpu: 1..
  memory: 1GB..
  disk: 1GB..
"""


def test_the_job_sees_the_values_and_nothing_else_holds_them(project, home, tmp_path, monkeypatch):
    seen = tmp_path / "seen"  # outside the project (copied to the job) and $DSTACK_HOME
    config = project / ".dstack.yml"
    config.write_text(CONFIG.format(seen=seen))
    assert dstack("secret", "set", "HF_TOKEN", "-", input=STORED + "\n").returncode == 0
    monkeypatch.setenv("WANDB_API_KEY", FROM_SHELL)

    outputs = [dstack("validate", str(config)), dstack("validate", str(config), "--json")]
    dry = dstack("apply", "-f", str(config), "--dry-run", "-b", "local", cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert "secrets.HF_TOKEN (stored)" in " ".join(dry.stdout.split())
    applied = dstack("apply", "-f", str(config), "-y", "-b", "local", cwd=project)
    assert applied.returncode == 0, applied.stderr
    assert "job ran" in applied.stdout
    assert seen.read_text() == f"{STORED} {FROM_SHELL} hello"  # the job saw them
    outputs += [
        dry,
        applied,
        dstack("ps", "-a", "-v", "--json"),
        dstack("ps", "-a", "-v"),
        dstack("logs", "sec"),
        dstack("event", "--run", "sec"),
        dstack("event"),
        dstack("secret", "list"),
    ]
    events = outputs[-3].stdout
    assert "sec" in events and "running" in events  # the run's transitions are listed
    for proc in outputs:
        assert proc.returncode == 0, (proc.args, proc.stderr)
        for value in (STORED, FROM_SHELL):
            assert value not in proc.stdout + proc.stderr, proc.args

    # no file under $DSTACK_HOME holds either value (state.db, job.sh, job.env, logs...)
    files = [p for p in tree(home) if p.is_file() and not p.is_symlink()]
    assert not any(p.name == ENV_FILE for p in files)  # it lived while the job ran
    assert any(p.name == "state.db" for p in files)
    for path in files:
        data = path.read_bytes()
        for value in (STORED, FROM_SHELL):
            assert value.encode() not in data, path
            assert base64.b64encode(value.encode()) not in data, path

    # the rows keep names and digests
    with sqlite3.connect(home / "state.db") as db:
        ((run_id, configuration, run_spec),) = db.execute(
            "SELECT id, configuration, run_spec FROM runs"
        ).fetchall()
        (job_spec,) = db.execute("SELECT job_spec FROM jobs").fetchone()
    env = json.loads(configuration)["env"]
    assert env["PLAIN"] == "hello"
    assert env["HF_TOKEN"].startswith("sha256:") and env["WANDB_API_KEY"].startswith("sha256:")
    assert json.loads(run_spec)["job"]["env"]["HF_TOKEN"] == env["HF_TOKEN"]
    assert json.loads(job_spec)["secret_env"] == ["HF_TOKEN", "WANDB_API_KEY"]

    # deleting the run deletes the values kept for it
    assert SecretStore().run_values(run_id) == {"HF_TOKEN": STORED, "WANDB_API_KEY": FROM_SHELL}
    assert dstack("delete", "sec", "-y").returncode == 0
    assert SecretStore().run_values(run_id) == {}
    assert SecretStore().names() == ["HF_TOKEN"]


def test_a_cloud_plan_has_no_value_in_its_user_data_and_marks_it_secret(project, monkeypatch):
    config = project / ".dstack.yml"
    config.write_text(CONFIG.format(seen="/tmp/unused"))
    assert dstack("secret", "set", "HF_TOKEN", STORED).returncode == 0
    monkeypatch.setenv("WANDB_API_KEY", FROM_SHELL)
    monkeypatch.chdir(project)
    plan = plan_apply(
        str(config), run_args=[], overrides={"backends": ["aws"]}, profile=None, dry_run=False
    )
    assert plan.resource_plan is not None
    spec = plan.resource_plan.spec
    user_data = spec.user_data
    for value in (STORED, FROM_SHELL):
        assert value not in user_data
        assert base64.b64encode(value.encode()).decode() not in user_data
        assert value not in json.dumps(plan.to_json())
    # the instance only gets ready at boot: the job, and its 0600 job.env with the values,
    # come over SSH once the instance is up (engine/reconciler/provision.py)
    document = yaml.safe_load(user_data.removeprefix("#cloud-config\n"))
    (entry,) = [f for f in document["write_files"] if f["path"] == INSTANCE_JOB_SCRIPT_PATH]
    script = gzip.decompress(base64.b64decode(entry["content"])).decode()
    assert "HF_TOKEN" not in script and "WANDB_API_KEY" not in script
    assert plan.secret_values == {"HF_TOKEN": STORED, "WANDB_API_KEY": FROM_SHELL}
    config_values = stack_config(spec)
    assert config_values["fleetstack:userData"].secret
    assert config_values["fleetstack:userData"].value == user_data
    plain = [v.value for v in config_values.values() if not v.secret]
    assert all("#cloud-config" not in value for value in plain)


def test_a_value_taken_from_the_shell_with_dash_e_is_kept_out_too(project, home, tmp_path):
    seen = tmp_path / "seen"
    config = project / ".dstack.yml"
    config.write_text(f"type: task\nname: dash-e\ncommands:\n  - printf '%s' \"$EXTRA\" > {seen}\n")
    value = f"extra_{uuid.uuid4().hex}"
    env = {**os.environ, "EXTRA": value}
    applied = dstack("apply", "-f", str(config), "-y", "-b", "local", "-e", "EXTRA", env=env)
    assert applied.returncode == 0, applied.stderr
    assert seen.read_text() == value
    for path in tree(home):
        if path.is_file() and not path.is_symlink():
            assert value.encode() not in path.read_bytes(), path
