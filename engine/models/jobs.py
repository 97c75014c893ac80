"""JobSpec: what one job runs (the job script and the cloud-init user-data render it), and its
validation: a value that cannot be carried safely into a shell script is refused here."""

from __future__ import annotations

import ipaddress
import re
import sys
from dataclasses import dataclass, field

CONTAINER_RUNTIMES = ("auto", "docker", "podman")
# Where a container's ports are published unless the configuration says otherwise
# (`ports: ["0.0.0.0:8080:8080"]`): this machine only.
PUBLISH_ADDRESS = "127.0.0.1"

# The image a cloud job runs in when the configuration gives `python:` (or nothing) but no
# `image:`, as dstack does. dstack publishes one image per Python version, tagged
# dstackai/base:py<X.Y>-<image version>-cuda-12.1 (Ubuntu, bash, conda + pip with that Python
# first on PATH, CUDA 12.1 runtime libraries). Newer dstack releases moved to a single
# dstackai/base:<version>-base-ubuntu<release> image whose Python is chosen at job start by
# dstack's own runner (a uv venv); the job script here runs the commands itself, so it needs an
# image whose `python` already is the requested version: the per-Python tags are that image.
# The version is pinned, so a run today and a run next month get the same image.
DEFAULT_IMAGE_REPOSITORY = "dstackai/base"
DEFAULT_IMAGE_VERSION = "0.7"
DEFAULT_IMAGE_PYTHON_VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13")

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Names bash refuses to assign (readonly) and the job script's own prefix.
_RESERVED_ENV_NAMES = frozenset({"BASHOPTS", "BASH_VERSINFO", "EUID", "PPID", "SHELLOPTS", "UID"})
_RESERVED_ENV_PREFIX = "_fs_"


@dataclass
class JobSpec:
    """One job as the job script and the cloud-init user-data see it.

    ports are (host_port, container_port) pairs, published with `-p ADDRESS:host:container`
    when an image is set (ADDRESS: publish_address(i), 127.0.0.1 unless the configuration
    says otherwise). gpu_vendor picks the GPU flags of the container (nvidia when None and
    gpus > 0).
    stop_grace_seconds is how long the commands get after SIGTERM before they are killed.
    """

    run_name: str
    run_id: str
    commands: list[str]
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    image: str | None = None
    python: str | None = None
    ports: list[tuple[int, int]] = field(default_factory=list)
    shm_size_gb: float | None = None
    gpus: int = 0
    container_runtime: str = "auto"
    gpu_vendor: str | None = None
    stop_grace_seconds: int = 10
    # env names whose values are secret: env holds their digest, the job reads the values
    # from job.env beside its script (engine/secrets)
    secret_env: list[str] = field(default_factory=list)
    # the address each of `ports` is published on (by index; missing: PUBLISH_ADDRESS)
    publish_addresses: list[str] = field(default_factory=list)

    def publish_address(self, index: int) -> str:
        """Where port `index` of `ports` is published by the container runtime."""
        if index < len(self.publish_addresses):
            return self.publish_addresses[index]
        return PUBLISH_ADDRESS

    def validate(self) -> None:
        """Raise ValueError naming the field when a value cannot be carried into the script."""
        validate_job(self)


def validate_job(job: JobSpec) -> None:
    """Raise ValueError naming the field when a value cannot be carried safely into the script."""
    _check_text("run_name", job.run_name, allow_empty=False)
    _check_text("run_id", job.run_id, allow_empty=False)
    for index, command in enumerate(job.commands):
        _check_text(f"commands[{index}]", command)
    for name, value in job.env.items():
        validate_env_name(name)
        _check_text(f"env.{name}", value)
    for name in job.secret_env:
        validate_env_name(name)
    if job.working_dir is not None:
        _check_text("working_dir", job.working_dir, allow_empty=False)
    if job.image is not None:
        _check_image(job.image)
    if job.python is not None:
        _check_text("python", job.python)
    for address in job.publish_addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"ports: {address!r} is not an IP address to publish on") from None
    for host_port, container_port in job.ports:
        for label, port in (("host", host_port), ("container", container_port)):
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"ports: {label} port {port!r} is not a port number (1-65535)")
    if job.shm_size_gb is not None and not job.shm_size_gb > 0:
        raise ValueError(f"shm_size: {job.shm_size_gb!r} GB is not a positive size")
    if isinstance(job.gpus, bool) or not isinstance(job.gpus, int) or job.gpus < 0:
        raise ValueError(f"gpus: {job.gpus!r} is not a GPU count (0 or more)")
    if job.container_runtime not in CONTAINER_RUNTIMES:
        raise ValueError(
            f"container_runtime: {job.container_runtime!r} is not one of "
            + ", ".join(CONTAINER_RUNTIMES)
        )
    if job.gpu_vendor is not None and not re.fullmatch(r"[a-z]+", job.gpu_vendor):
        raise ValueError(f"gpu_vendor: {job.gpu_vendor!r} is not a vendor name such as nvidia")
    if isinstance(job.stop_grace_seconds, bool) or not isinstance(job.stop_grace_seconds, int):
        raise ValueError(f"stop_grace_seconds: {job.stop_grace_seconds!r} is not a whole number")
    if job.stop_grace_seconds < 0:
        raise ValueError("stop_grace_seconds: must be 0 or more")


def default_image(python: str | None) -> str:
    """The image for a job that sets no `image:`: dstack's base image for that Python version.

    python is "3.9" .. "3.13"; None means the Python version fleetstack itself runs on, as
    dstack picks its own, or the newest one offered when that version has no image. Raises
    ValueError naming the versions offered for any other value. Local runs without an image run
    on the host and do not use this.
    """
    if python is None:
        python = _running_python()
    if not isinstance(python, str) or python not in DEFAULT_IMAGE_PYTHON_VERSIONS:
        raise ValueError(
            f"python: {python!r} has no default image; use one of "
            + ", ".join(DEFAULT_IMAGE_PYTHON_VERSIONS)
            + " or set image:"
        )
    return f"{DEFAULT_IMAGE_REPOSITORY}:py{python}-{DEFAULT_IMAGE_VERSION}-cuda-12.1"


def validate_env_name(name: str) -> None:
    """Raise ValueError unless name can be exported by bash and passed to a container."""
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        raise ValueError(
            f"env: {name!r} is not a valid variable name "
            "(letters, digits and _, not starting with a digit)"
        )
    if name in _RESERVED_ENV_NAMES:
        raise ValueError(f"env: {name} is a read-only bash variable and cannot be set")
    if name.startswith(_RESERVED_ENV_PREFIX):
        raise ValueError(f"env: names starting with {_RESERVED_ENV_PREFIX} are reserved")


def _running_python() -> str:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if version in DEFAULT_IMAGE_PYTHON_VERSIONS:
        return version
    return DEFAULT_IMAGE_PYTHON_VERSIONS[-1]


def _check_text(label: str, value: object, *, allow_empty: bool = True) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{label}: expected text, got {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"{label}: contains a NUL character, which no shell variable can hold")
    if not allow_empty and not value:
        raise ValueError(f"{label}: must not be empty")


def _check_image(image: str) -> None:
    _check_text("image", image, allow_empty=False)
    # An image is one word: a leading '-' would be read as an option by docker.
    if image.startswith("-") or any(ch.isspace() or ord(ch) < 32 for ch in image):
        raise ValueError(
            f"image: {image!r} is not an image reference (one word such as python:3.11-slim)"
        )
