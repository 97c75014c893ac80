"""examples/ci/fleetstack.yml: valid YAML, and every step that runs `dstack` runs here, in
order, as the workflow writes it (bash, a git checkout with fleets/, the recording engine):
the pull request's validate and plan, then the merge's apply of the saved plan."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from ..engines.conftest import ENTRY
from .conftest import fleet_file

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "ci" / "fleetstack.yml"
# run steps that cannot run here, and why: neither runs dstack
NOT_RUN_HERE = {
    "Install fleetstack": "pip from a git URL (the test runs this checkout)",
    "Download the plan reviewed on the pull request": "gh and the GitHub API",
}


def steps_of(job: str) -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"][job]["steps"]


def test_the_workflow_is_valid_yaml_with_a_plan_and_an_apply_job():
    workflow = yaml.safe_load(WORKFLOW.read_text())

    assert set(workflow["jobs"]) == {"plan", "apply"}
    assert workflow[True]["pull_request"]["paths"]  # YAML 1.1 reads the `on:` key as True
    assert workflow["env"]["PULUMI_BACKEND_URL"].startswith("${{ secrets.")
    assert workflow["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    skipped = [
        s for job in ("plan", "apply") for s in steps_of(job) if s.get("name") in NOT_RUN_HERE
    ]
    assert all("dstack" not in s["run"] for s in skipped)


def test_every_dstack_command_of_the_workflow_runs(recording_cli, tmp_path):
    repo = tmp_path / "repo"
    (repo / "fleets").mkdir(parents=True)
    fleet_file(repo / "fleets", nodes="2")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    env = _workflow_env(recording_cli, tmp_path)

    outputs = _run_steps("plan", repo, env)
    assert "exitcode=2" in outputs.read_text()
    plan_md = (repo / "plan.md").read_text()
    assert plan_md.startswith("<!-- fleetstack-plan -->")
    assert "| `fleets/fleet.dstack.yml` | fleet | rec | create |" in plan_md
    assert (repo / "plan.json").is_file() and recording_cli.engine.stacks() == []

    _run_steps("apply", repo, env)
    assert recording_cli.engine.stacks() == ["main-rec"]

    outputs = _run_steps("plan", repo, env)  # the next pull request: nothing changed
    assert "exitcode=0" in outputs.read_text().splitlines()[-1]


def _run_steps(job: str, repo: Path, env: dict[str, str]) -> Path:
    """Run the job's `run:` steps that can run here; the GITHUB_OUTPUT file they wrote."""
    outputs = repo.parent / f"github-output-{job}"
    outputs.touch()
    ran = []
    for step in steps_of(job):
        if "run" not in step or step.get("name") in NOT_RUN_HERE:
            continue
        step_env = {**env, **{k: "" for k in step.get("env", {})}, "GITHUB_OUTPUT": str(outputs)}
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=step_env,
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode == 0, (step["name"], result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        ran.append(step["name"])
    assert any("dstack" in s.get("run", "") for s in steps_of(job) if s.get("name") in ran)
    return outputs


def _workflow_env(recording_cli, tmp_path: Path) -> dict[str, str]:
    """The workflow's env (DSTACK_HOME, FLEETS...) with `dstack` the recording engine's CLI."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "dstack"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ENTRY}" "$@"\n')
    wrapper.chmod(0o755)
    env = dict(recording_cli.env)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    env["FLEETS"] = "fleets"
    env["PULUMI_CONFIG_PASSPHRASE"] = "a-passphrase-from-a-secret"
    env["DSTACK_HOME"] = os.environ["DSTACK_HOME"]
    return env
