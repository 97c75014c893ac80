"""render_user_data: real `cloud-init schema` validation and the structure of the document."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import subprocess
from pathlib import Path

import pytest
import yaml
from fleetstack.engine.models.jobs import JobSpec
from fleetstack.templates.cloud_init import render_user_data
from fleetstack.templates.render import (
    INSTANCE_JOB_SCRIPT_PATH,
    INSTANCE_JOB_UNIT,
    render_job_script,
    render_static,
)

from ..helpers import hostile_env

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINOmx0T+hBRaJ6jCi21ZYe2NW3EZS8e0Mdwl+yZJt+kD fleetstack"
SETUP_PATH = "/opt/fleetstack/setup.sh"
UNIT_PATH = f"/etc/systemd/system/{INSTANCE_JOB_UNIT}"


def user_data_for(job: JobSpec, *, gpu_vendor: str | None, keys: list[str] | None = None) -> str:
    return render_user_data(job, ssh_public_keys=keys or [KEY], gpu_vendor=gpu_vendor)


def load(user_data: str) -> dict:
    assert user_data.startswith("#cloud-config\n")
    document = yaml.safe_load(user_data)
    assert isinstance(document, dict)
    return document


def written_files(document: dict) -> dict[str, bytes]:
    """Each write_files entry's path -> its content as cloud-init decodes it."""
    files: dict[str, bytes] = {}
    for entry in document["write_files"]:
        content = entry["content"]
        encoding = entry.get("encoding", "text/plain")
        if encoding == "gz+b64":
            data = gzip.decompress(base64.b64decode(content, validate=True))
        elif encoding == "b64":
            data = base64.b64decode(content, validate=True)
        else:
            assert encoding == "text/plain", encoding
            data = content.encode("utf-8")
        assert entry["path"] not in files
        files[entry["path"]] = data
    return files


def cloud_init_schema(cloud_init: str, tmp_path: Path, user_data: str) -> None:
    path = tmp_path / "user-data.yaml"
    path.write_text(user_data, encoding="utf-8")
    done = subprocess.run(
        [cloud_init, "schema", "--config-file", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"Valid cloud-config: {path}" in output, output
    # No schema error or deprecation either (the path itself is left out: it holds test names).
    remarks = output.replace(str(path), "").lower()
    assert "error" not in remarks, output
    assert "deprecat" not in remarks, output


@pytest.fixture
def cloud_init(require_tool) -> str:
    return require_tool("cloud-init")


def cpu_job(make_job) -> JobSpec:
    return make_job(commands=["python train.py"], env={"EPOCHS": "3"})


def nvidia_job(make_job) -> JobSpec:
    return make_job(
        commands=["nvidia-smi", "python train.py --epochs 3"],
        env={"HF_HOME": "/workflow/.hf"},
        image="dstackai/base:py3.11-0.7-cuda-12.1",
        ports=[(8000, 8000), (16006, 6006)],
        shm_size_gb=16,
        gpus=2,
        working_dir="src",
    )


def hostile_job(make_job, marker: Path) -> JobSpec:
    env = hostile_env(marker)
    commands = ["mkdir -p out"] + [f"printf '%s' \"${name}\" > out/{name}" for name in env]
    return make_job(env=env, commands=commands, run_name="run: {x} # 'q'")


# --- cloud-init schema: the document the instance boots with -----------------------------


@pytest.mark.parametrize("variant", ["cpu", "nvidia", "hostile"])
def test_user_data_passes_cloud_init_schema(cloud_init, make_job, tmp_path, variant):
    job, vendor = {
        "cpu": (cpu_job(make_job), None),
        "nvidia": (nvidia_job(make_job), "nvidia"),
        "hostile": (hostile_job(make_job, tmp_path / "marker"), None),
    }[variant]

    cloud_init_schema(cloud_init, tmp_path, user_data_for(job, gpu_vendor=vendor))


def test_cloud_init_schema_check_catches_a_broken_document(cloud_init, tmp_path):
    # The check above would be worthless if cloud-init accepted anything.
    broken = "#cloud-config\nssh_authorized_keys: []\nruncmd: [1, {a: b}]\nwrite_files: 3\n"
    path = tmp_path / "broken.yaml"
    path.write_text(broken)

    done = subprocess.run(
        [cloud_init, "schema", "--config-file", str(path)], capture_output=True, text=True
    )

    assert done.returncode != 0
    assert "write_files" in done.stdout + done.stderr


# --- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["cpu", "nvidia", "amd", "hostile"])
def test_the_job_script_is_written_exactly_as_rendered(make_job, tmp_path, variant):
    job, vendor = {
        "cpu": (cpu_job(make_job), None),
        "nvidia": (nvidia_job(make_job), "nvidia"),
        "amd": (dataclasses.replace(nvidia_job(make_job), gpus=1), "amd"),
        "hostile": (hostile_job(make_job, tmp_path / "marker"), None),
    }[variant]
    document = load(user_data_for(job, gpu_vendor=vendor))

    files = written_files(document)
    entries = {entry["path"]: entry for entry in document["write_files"]}

    # The instance's vendor reaches the container flags when the job names none.
    expected_job = dataclasses.replace(job, gpu_vendor=vendor) if job.gpus and vendor else job
    assert files[INSTANCE_JOB_SCRIPT_PATH] == render_job_script(expected_job).encode("utf-8")
    assert entries[INSTANCE_JOB_SCRIPT_PATH]["encoding"] == "gz+b64"
    assert entries[INSTANCE_JOB_SCRIPT_PATH]["permissions"] == "0700"  # owner-only
    assert files[SETUP_PATH] == render_static(
        "setup_instance.sh.j2", nvidia=vendor == "nvidia"
    ).encode("utf-8")
    assert entries[SETUP_PATH]["encoding"] == "b64"
    assert set(files) == {INSTANCE_JOB_SCRIPT_PATH, SETUP_PATH, UNIT_PATH}


def test_an_amd_instance_gives_the_container_amd_devices(make_job):
    job = make_job(image="rocm/pytorch", gpus=1)

    script = written_files(load(user_data_for(job, gpu_vendor="amd")))[INSTANCE_JOB_SCRIPT_PATH]

    assert b"_fs_gpu_vendor=amd\n" in script


def test_hostile_values_appear_nowhere_in_clear(make_job, tmp_path):
    user_data = user_data_for(hostile_job(make_job, tmp_path / "marker"), gpu_vendor=None)

    for needle in ("touch", "it's", "line one", "日本語", "key: value", "x" * 100):
        assert needle not in user_data


@pytest.mark.parametrize("vendor", [None, "nvidia", "amd"])
def test_the_nvidia_toolkit_is_installed_for_nvidia_only(make_job, vendor):
    job = dataclasses.replace(nvidia_job(make_job), gpus=1 if vendor else 0)
    document = load(user_data_for(job, gpu_vendor=vendor))

    setup = written_files(document)[SETUP_PATH].decode()
    everything = yaml.safe_dump(document) + "".join(
        data.decode() for data in written_files(document).values()
    )

    assert "docker.io" in setup
    assert "systemctl enable --now docker" in setup
    # apt waits for the dpkg lock that unattended-upgrades holds at first boot.
    assert setup.count("-o DPkg::Lock::Timeout=600") == 2
    if vendor == "nvidia":
        assert "apt_install nvidia-container-toolkit" in setup
        assert "nvidia-ctk runtime configure --runtime=docker" in setup
    else:
        assert "nvidia-container-toolkit" not in everything
        assert "nvidia-ctk" not in everything


def test_ssh_authorized_keys_hold_the_keys_trimmed(make_job):
    other = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= user@host: {yaml} # not a comment"

    document = load(user_data_for(cpu_job(make_job), gpu_vendor=None, keys=[f"  {KEY}\r\n", other]))

    assert document["ssh_authorized_keys"] == [KEY, other]


@pytest.mark.parametrize(
    "keys",
    [
        [],
        [""],
        ["   \n"],
        [KEY, "ssh-ed25519 AAAA first\nssh-ed25519 BBBB second"],
        ["ssh-ed25519 AAAA\rkey"],
        ["ssh-ed25519 AAAA\x00key"],
        [None],
        KEY,
    ],
    ids=["none", "empty", "blank", "multi-line", "cr-inside", "nul", "not-text", "str"],
)
def test_an_empty_or_multi_line_key_is_refused(make_job, keys):
    with pytest.raises(ValueError, match="ssh_public_keys"):
        render_user_data(cpu_job(make_job), ssh_public_keys=keys, gpu_vendor=None)


def test_the_unit_is_written_then_started_after_the_setup(make_job):
    document = load(user_data_for(nvidia_job(make_job), gpu_vendor="nvidia"))

    assert document["runcmd"] == [
        ["mkdir", "-p", "/opt/fleetstack/work"],
        ["systemctl", "daemon-reload"],
        ["bash", SETUP_PATH],
        ["systemctl", "start", "--no-block", INSTANCE_JOB_UNIT],
    ]
    unit = written_files(document)[UNIT_PATH].decode()
    assert f"exec /bin/bash {INSTANCE_JOB_SCRIPT_PATH}'\n" in unit  # holding the job lock
    assert "WorkingDirectory=/opt/fleetstack/work\n" in unit
    assert "After=network-online.target docker.service\n" in unit
    assert "Restart=no\n" in unit
    # stop grace (10 s) + 30 s for the container stop and the log flush
    assert "TimeoutStopSec=40\n" in unit


def test_the_unit_passes_systemd_analyze_verify(require_tool, make_job, tmp_path):
    systemd_analyze = require_tool("systemd-analyze")
    unit = tmp_path / INSTANCE_JOB_UNIT
    unit.write_bytes(
        written_files(load(user_data_for(cpu_job(make_job), gpu_vendor=None)))[UNIT_PATH]
    )

    done = subprocess.run(
        [systemd_analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert INSTANCE_JOB_UNIT not in done.stderr, done.stderr


def test_a_custom_job_script_path_is_used_everywhere(make_job):
    document = load(
        render_user_data(
            cpu_job(make_job),
            ssh_public_keys=[KEY],
            gpu_vendor=None,
            job_script_path="/srv/jobs/job-1.sh",
        )
    )

    assert "/srv/jobs/job-1.sh" in written_files(document)
    assert "exec /bin/bash /srv/jobs/job-1.sh'\n" in written_files(document)[UNIT_PATH].decode()


@pytest.mark.parametrize("path", ["relative/job.sh", "/opt/job $(x).sh", "/opt/job\n.sh", ""])
def test_an_unsafe_job_script_path_is_refused(make_job, path):
    with pytest.raises(ValueError, match="job_script_path"):
        render_user_data(
            cpu_job(make_job), ssh_public_keys=[KEY], gpu_vendor=None, job_script_path=path
        )


# --- the carried job script still works ----------------------------------------------------


def test_the_decoded_job_script_runs_hostile_values_byte_for_byte(job_runner, make_job, tmp_path):
    marker = tmp_path / "marker"
    job = hostile_job(make_job, marker)
    script = tmp_path / "from-user-data.sh"
    script.write_bytes(
        written_files(load(user_data_for(job, gpu_vendor=None)))[INSTANCE_JOB_SCRIPT_PATH]
    )

    done = subprocess.run(
        ["bash", str(script)],
        cwd=job_runner.project,
        env=job_runner.environ(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    for name, value in job.env.items():
        assert (job_runner.project / "out" / name).read_bytes() == value.encode("utf-8"), name
    assert not marker.exists()
