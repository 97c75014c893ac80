"""engine/models/jobs.py, templates/jobspec.py: the default image of a job, env given to docker."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from fleetstack.engine.models import jobs as jobspec
from fleetstack.engine.models.jobs import DEFAULT_IMAGE_PYTHON_VERSIONS, default_image
from fleetstack.templates.jobspec import passed_to_runtime
from fleetstack.templates.render import render_job_script


@pytest.mark.parametrize("python", ["3.9", "3.10", "3.11", "3.12", "3.13"])
def test_each_python_version_gets_dstacks_base_image_for_it(python):
    assert default_image(python) == f"dstackai/base:py{python}-0.7-cuda-12.1"


def test_the_versions_offered_match_what_the_configuration_accepts():
    from fleetstack.engine.config.run import PYTHON_VERSIONS

    assert DEFAULT_IMAGE_PYTHON_VERSIONS == PYTHON_VERSIONS


def test_no_python_means_the_python_fleetstack_runs_on():
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    expected = running if running in DEFAULT_IMAGE_PYTHON_VERSIONS else "3.13"

    assert default_image(None) == default_image(expected)


@pytest.mark.parametrize(("running", "expected"), [((3, 12), "3.12"), ((3, 14), "3.13")])
def test_no_python_follows_the_interpreter_or_the_newest_image(monkeypatch, running, expected):
    major, minor = running
    fake_sys = SimpleNamespace(version_info=SimpleNamespace(major=major, minor=minor))
    monkeypatch.setattr(jobspec, "sys", fake_sys)

    assert default_image(None) == f"dstackai/base:py{expected}-0.7-cuda-12.1"


@pytest.mark.parametrize("python", ["3.1", "3.8", "3.14", "3", "", "3.11; rm -rf /", 3.11])
def test_a_python_without_an_image_is_refused_with_the_choices(python):
    with pytest.raises(ValueError, match=r"python: .* use one of 3\.9, 3\.10, 3\.11, 3\.12, 3\.13"):
        default_image(python)  # type: ignore[arg-type]


def test_the_default_image_is_a_valid_job_image(make_job):
    for python in DEFAULT_IMAGE_PYTHON_VERSIONS:
        script = render_job_script(make_job(image=default_image(python), python=python))
        assert f"_fs_image=dstackai/base:py{python}-0.7-cuda-12.1\n" in script


@pytest.mark.parametrize(
    "name",
    ["HF_TOKEN", "CUDA_VISIBLE_DEVICES", "DSTACK_RUN_NAME", "PYTHONPATH", "NCCL_DEBUG", "A"],
)
def test_ordinary_env_is_given_to_the_container_runtime(name):
    assert passed_to_runtime(name)


@pytest.mark.parametrize(
    "name",
    [
        "PATH",
        "HOME",
        "TMPDIR",
        "CDPATH",
        "BASH_ENV",
        "LD_LIBRARY_PATH",
        "LD_PRELOAD",
        "DOCKER_HOST",
        "DOCKER_CONFIG",
        "CONTAINER_HOST",
        "XDG_RUNTIME_DIR",
        "REGISTRY_AUTH_FILE",
    ],
)
def test_env_that_steers_the_runtime_stays_in_the_script(name):
    assert not passed_to_runtime(name)
