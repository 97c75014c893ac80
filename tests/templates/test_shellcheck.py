"""The rendered scripts pass shellcheck (default severity, no findings) and `bash -n`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import fleetstack.templates
import pytest
from fleetstack.engine.models.jobs import JobSpec
from fleetstack.templates.render import render_job_script, render_static

JOB_VARIANTS = {
    "no-image": {},
    "no-image-env-working-dir": {
        "env": {"A": "$(touch x)", "PATH": "/nonexistent"},
        "working_dir": "src dir",
        "commands": ["echo one", "for i in 1 2; do\n  echo $i\ndone"],
    },
    "no-commands": {"commands": []},
    "image-gpus-ports-env": {
        "image": "dstackai/base:py3.11-0.7-cuda-12.1",
        "gpus": 4,
        "ports": [(8000, 8000), (16006, 6006)],
        "env": {"HF_TOKEN": "t'o\"k`e$n", "MULTI": "a\nb"},
        "shm_size_gb": 1.5,
        "working_dir": "train",
    },
    "image-podman": {"image": "python:3.11-slim", "container_runtime": "podman", "gpus": 1},
    "image-docker-amd": {
        "image": "rocm/pytorch",
        "container_runtime": "docker",
        "gpus": 1,
        "gpu_vendor": "amd",
    },
    "image-no-gpu-no-env": {"image": "alpine"},
    "secret-env-from-job-env": {
        "env": {"HF_TOKEN": "sha256:0123456789ab"},
        "secret_env": ["HF_TOKEN"],
    },
    "image-secret-env": {
        "image": "alpine",
        "env": {"HF_TOKEN": "sha256:0123456789ab", "A": "b"},
        "secret_env": ["HF_TOKEN"],
    },
    "image-only-runtime-steering-env": {
        "image": "alpine",
        "env": {"PATH": "/x", "DOCKER_HOST": ""},
    },
}


def shellcheck(tool: str, script: Path) -> subprocess.CompletedProcess[str]:
    # --norc: a ~/.shellcheckrc on the machine must not change what passes.
    return subprocess.run(
        [tool, "--norc", "--shell=bash", "--format=gcc", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def bash_n(script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=60)


def job_script(make_job, variant: str, tmp_path: Path) -> Path:
    job: JobSpec = make_job(**JOB_VARIANTS[variant])
    path = tmp_path / f"{variant}.sh"
    path.write_text(render_job_script(job), encoding="utf-8")
    return path


@pytest.mark.parametrize("variant", sorted(JOB_VARIANTS))
def test_job_script_has_no_shellcheck_findings(require_tool, make_job, tmp_path, variant):
    tool = require_tool("shellcheck")
    script = job_script(make_job, variant, tmp_path)

    done = shellcheck(tool, script)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("variant", sorted(JOB_VARIANTS))
def test_job_script_parses_with_bash_n(make_job, tmp_path, variant):
    done = bash_n(job_script(make_job, variant, tmp_path))

    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("nvidia", [False, True], ids=["docker", "docker-nvidia"])
def test_setup_script_has_no_shellcheck_findings(require_tool, tmp_path, nvidia):
    tool = require_tool("shellcheck")
    script = tmp_path / "setup.sh"
    script.write_text(render_static("setup_instance.sh.j2", nvidia=nvidia), encoding="utf-8")

    done = shellcheck(tool, script)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""
    assert bash_n(script).returncode == 0


def test_shellcheck_reports_a_real_problem(require_tool, tmp_path):
    # Guards the checks above: the tool runs and reports at the default severity.
    tool = require_tool("shellcheck")
    script = tmp_path / "bad.sh"
    script.write_text('#!/usr/bin/env bash\nrm -rf $1/tmp\necho "$undefined_var"\n')

    done = shellcheck(tool, script)

    assert done.returncode != 0
    assert "SC2086" in done.stdout


def test_the_templates_disable_no_check_wholesale():
    # Each disable must name one check next to the line it is about, not the whole file.
    templates = Path(fleetstack.templates.__file__).parent
    for template in templates.glob("*.sh.j2"):
        lines = template.read_text().splitlines()
        for number, line in enumerate(lines):
            if "shellcheck disable" in line:
                assert number > 1, f"{template.name}: a file-wide shellcheck disable"
                assert "," not in line, f"{template.name}:{number + 1}: several checks disabled"
