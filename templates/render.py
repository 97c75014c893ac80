"""Render the instance contract: the job script (bash) and the cloud-init user-data.

The job script is the same for local runs and cloud instances. Every value taken from the
configuration reaches it through the `sh` filter (shlex.quote) or as base64, and the Jinja
environment refuses to print anything that did not pass through that filter.
"""

from __future__ import annotations

import base64
import gzip
import shlex
from functools import cache
from pathlib import Path

import jinja2

from .jobspec import JobInput, container_name, effective_gpu_vendor, passed_to_runtime

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_NO_CONTAINER_RUNTIME",
    "EXIT_SETUP_FAILED",
    "EXIT_TERMINATED",
    "INSTANCE_EXIT_STATUS_PATH",
    "INSTANCE_JOB_ENV_PATH",
    "INSTANCE_JOB_LOG_PATH",
    "INSTANCE_JOB_SCRIPT_PATH",
    "INSTANCE_JOB_UNIT",
    "INSTANCE_WORK_DIR",
    "JobInput",
    "container_name",
    "render_job_script",
]

EXIT_NO_CONTAINER_RUNTIME = 125  # the image needs docker or podman and neither answers
EXIT_SETUP_FAILED = 2  # working_dir missing, base64/mktemp missing, script not in a file
EXIT_TERMINATED = 143  # stopped by SIGTERM
EXIT_INTERRUPTED = 130  # stopped by SIGINT

INSTANCE_JOB_SCRIPT_PATH = "/opt/fleetstack/job.sh"
# The job's secret env values on an instance: uploaded over SSH (0600), never in user-data;
# the job script reads job.env beside itself.
INSTANCE_JOB_ENV_PATH = "/opt/fleetstack/job.env"
INSTANCE_SETUP_SCRIPT_PATH = "/opt/fleetstack/setup.sh"
INSTANCE_WORK_DIR = "/opt/fleetstack/work"
INSTANCE_JOB_UNIT = "fleetstack-job.service"
INSTANCE_JOB_LOG_PATH = "/var/log/fleetstack/job.log"
INSTANCE_EXIT_STATUS_PATH = "/var/lib/fleetstack/exit-status"

_TEMPLATE_DIR = Path(__file__).parent


def render_job_script(job: JobInput, *, gpu_vendor: str | None = None) -> str:
    """The bash job script for `job`: run it with `bash job.sh` from the project directory.

    gpu_vendor is the instance's GPU vendor, used when the job names none. Raises ValueError
    when a value cannot be carried (bad env name, NUL byte, bad port...).
    """
    job.validate()
    secret = set(job.secret_env)
    commands = "".join(
        command if command.endswith("\n") else command + "\n" for command in job.commands
    )
    context = {
        "image": job.image or "",
        "working_dir": job.working_dir or "",
        "container_name": container_name(job),
        "container_runtime": job.container_runtime,
        "gpu_vendor": effective_gpu_vendor(job, gpu_vendor) or "",
        "stop_grace": str(job.stop_grace_seconds),
        "commands_b64": b64encode_text(commands),
        "env": [
            (name, b64encode_text(value)) for name, value in job.env.items() if name not in secret
        ],
        "runtime_env": [
            (name, b64encode_text(value))
            for name, value in job.env.items()
            if passed_to_runtime(name) and name not in secret
        ],
        # names whose values the script reads from job.env beside it (never written here)
        "env_file_names": " ".join(name for name in job.secret_env if name in job.env),
        "publish_args": [
            f"{_bracketed(job.publish_address(i))}:{host}:{container}"
            for i, (host, container) in enumerate(job.ports)
        ],
        "shm_size": f"{max(1, round(job.shm_size_gb * 1024))}m" if job.shm_size_gb else "",
        "exit_no_runtime": EXIT_NO_CONTAINER_RUNTIME,
        "exit_setup": EXIT_SETUP_FAILED,
    }
    return _environment().get_template("job.sh.j2").render(context)


def _bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def render_static(name: str, **context: object) -> str:
    """Render one of the fixed templates (unit file, setup script) that take no user values."""
    return _environment().get_template(name).render(context)


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
    # Every {{ }} in a template must print a quoted word or a number: a raw string is a bug.
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


def __getattr__(name: str) -> object:
    # Transitional: tests/runs_commands/conftest.py still imports JobSpec from here. The model
    # lives in engine/models/jobs.py; the templates never import the engine otherwise.
    if name == "JobSpec":
        from ..engine.models.jobs import JobSpec

        return JobSpec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
