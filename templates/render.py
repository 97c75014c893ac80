"""Render the instance contract: the job script (bash) and the cloud-init user-data.

The job script is the same for local runs and cloud instances. Every value taken from the
configuration reaches it through the `sh` filter (shlex.quote) or as base64, and the Jinja
environment refuses to print anything that did not pass through that filter.
"""

from __future__ import annotations

import base64
import gzip
import re
import shlex
from functools import cache
from pathlib import Path

import jinja2

from .jobspec import (
    JobSpec,
    container_name,
    effective_gpu_vendor,
    passed_to_runtime,
    validate_job,
)

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_NO_CONTAINER_RUNTIME",
    "EXIT_SETUP_FAILED",
    "EXIT_TERMINATED",
    "INSTANCE_EXIT_STATUS_PATH",
    "INSTANCE_JOB_LOG_PATH",
    "INSTANCE_JOB_SCRIPT_PATH",
    "INSTANCE_JOB_UNIT",
    "INSTANCE_WORK_DIR",
    "JobSpec",
    "container_name",
    "render_job_script",
    "render_user_data",
]

EXIT_NO_CONTAINER_RUNTIME = 125  # the image needs docker or podman and neither answers
EXIT_SETUP_FAILED = 2  # working_dir missing, base64/mktemp missing, script not in a file
EXIT_TERMINATED = 143  # stopped by SIGTERM
EXIT_INTERRUPTED = 130  # stopped by SIGINT

INSTANCE_JOB_SCRIPT_PATH = "/opt/fleetstack/job.sh"
INSTANCE_SETUP_SCRIPT_PATH = "/opt/fleetstack/setup.sh"
INSTANCE_WORK_DIR = "/opt/fleetstack/work"
INSTANCE_JOB_UNIT = "fleetstack-job.service"
INSTANCE_JOB_LOG_PATH = "/var/log/fleetstack/job.log"
INSTANCE_EXIT_STATUS_PATH = "/var/lib/fleetstack/exit-status"

_TEMPLATE_DIR = Path(__file__).parent
_SAFE_PATH = re.compile(r"/[A-Za-z0-9_./-]+")


def render_job_script(job: JobSpec) -> str:
    """The bash job script for `job`: run it with `bash job.sh` from the project directory.

    Raises ValueError when a value cannot be carried (bad env name, NUL byte, bad port...).
    """
    validate_job(job)
    commands = "".join(
        command if command.endswith("\n") else command + "\n" for command in job.commands
    )
    context = {
        "image": job.image or "",
        "working_dir": job.working_dir or "",
        "container_name": container_name(job),
        "container_runtime": job.container_runtime,
        "gpu_vendor": effective_gpu_vendor(job) or "",
        "stop_grace": str(job.stop_grace_seconds),
        "commands_b64": b64encode_text(commands),
        "env": [(name, b64encode_text(value)) for name, value in job.env.items()],
        "runtime_env": [
            (name, b64encode_text(value))
            for name, value in job.env.items()
            if passed_to_runtime(name)
        ],
        "publish_args": [f"{host}:{container}" for host, container in job.ports],
        "shm_size": f"{max(1, round(job.shm_size_gb * 1024))}m" if job.shm_size_gb else "",
        "exit_no_runtime": EXIT_NO_CONTAINER_RUNTIME,
        "exit_setup": EXIT_SETUP_FAILED,
    }
    return _environment().get_template("job.sh.j2").render(context)


def render_user_data(
    job: JobSpec,
    *,
    ssh_public_keys: list[str],
    gpu_vendor: str | None,
    job_script_path: str = INSTANCE_JOB_SCRIPT_PATH,
) -> str:
    """cloud-init user-data ("#cloud-config" YAML) that prepares an instance and starts the job.

    It authorizes ssh_public_keys for the image's default user, installs and starts docker
    (plus the NVIDIA container toolkit when gpu_vendor is "nvidia"), writes the job script to
    job_script_path and starts it as the systemd unit fleetstack-job.service, which runs in
    /opt/fleetstack/work, logs to the journal and /var/log/fleetstack/job.log and records the
    exit status in /var/lib/fleetstack/exit-status.

    Raises ValueError when ssh_public_keys is empty or holds an empty or multi-line key, and
    for any job value render_job_script refuses.
    """
    from .cloud_init import build_user_data

    if not _SAFE_PATH.fullmatch(job_script_path):
        raise ValueError(
            f"job_script_path: {job_script_path!r} must be an absolute path of letters, "
            "digits and ._/-"
        )
    if gpu_vendor is not None and job.gpus > 0 and job.gpu_vendor is None:
        job = _with_gpu_vendor(job, gpu_vendor)
    return build_user_data(
        job_script=render_job_script(job),
        ssh_public_keys=ssh_public_keys,
        gpu_vendor=gpu_vendor,
        job_script_path=job_script_path,
        stop_grace_seconds=job.stop_grace_seconds,
    )


def render_static(name: str, **context: object) -> str:
    """Render one of the fixed templates (unit file, setup script) that take no user values."""
    return _environment().get_template(name).render(context)


def _with_gpu_vendor(job: JobSpec, gpu_vendor: str) -> JobSpec:
    from dataclasses import replace

    return replace(job, gpu_vendor=gpu_vendor)


def b64encode_text(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def gzip_b64(text: str) -> str:
    """Text gzip-compressed then base64-encoded, as cloud-init's `encoding: gz+b64` reads it."""
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


class _Quoted(str):
    """Text that went through the `sh` filter and is one inert shell word."""


def shell_quote(value: object) -> _Quoted:
    return _Quoted(shlex.quote(str(value)))


def _only_quoted(value: object) -> object:
    # Any {{ }} in a template must print a quoted word or a number: a raw string is a bug.
    if isinstance(value, str) and not isinstance(value, _Quoted):
        raise ValueError(f"template printed an unquoted value: {value!r}")
    return value


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATE_DIR)),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_only_quoted,
    )
    env.filters["sh"] = shell_quote
    return env
