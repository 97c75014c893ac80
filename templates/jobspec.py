"""How the job script treats a job: its container's name, the GPU vendor of its devices, and
which env variables go to docker/podman. The job itself is engine/models/jobs.py's JobSpec;
the templates see it through the JobInput protocol and never import the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

_CONTAINER_NAME_UNSAFE = re.compile(r"[^a-z0-9_.-]+")
# Variables that steer the container runtime's client (its config, daemon, helpers, loader) or
# the start of the container (the PATH its bash is found in, the shell that reads the job
# script, where mktemp writes). They are not given to docker/podman: the job script exports
# them inside the container, so the commands still see the job's values.
_RUNTIME_ENV_NAMES = frozenset(
    {
        "BASH_ENV",
        "CDPATH",
        "ENV",
        "HOME",
        "PATH",
        "POSIXLY_CORRECT",
        "REGISTRY_AUTH_FILE",
        "SSL_CERT_DIR",
        "SSL_CERT_FILE",
        "TMPDIR",
    }
)
_RUNTIME_ENV_PREFIXES = ("BUILDKIT_", "CONTAINER_", "CONTAINERS_", "DOCKER_", "LD_", "XDG_")


class JobInput(Protocol):
    """What the templates read of a job (engine/models/jobs.py JobSpec has these fields)."""

    @property
    def run_name(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def commands(self) -> Sequence[str]: ...
    @property
    def env(self) -> Mapping[str, str]: ...
    @property
    def secret_env(self) -> Sequence[str]: ...
    @property
    def working_dir(self) -> str | None: ...
    @property
    def image(self) -> str | None: ...
    @property
    def ports(self) -> Sequence[tuple[int, int]]: ...
    def publish_address(self, index: int) -> str: ...
    @property
    def shm_size_gb(self) -> float | None: ...
    @property
    def gpus(self) -> int: ...
    @property
    def container_runtime(self) -> str: ...
    @property
    def gpu_vendor(self) -> str | None: ...
    @property
    def stop_grace_seconds(self) -> int: ...

    def validate(self) -> None:
        """Raise ValueError naming the field when a value cannot be carried into the script."""


def passed_to_runtime(name: str) -> bool:
    """True when the env variable `name` is given to docker/podman with `-e NAME`.

    False for the few that would change how the client or the container's start works (PATH,
    HOME, TMPDIR, LD_*, DOCKER_*...): the job script sets those inside the container instead.
    """
    return name not in _RUNTIME_ENV_NAMES and not name.startswith(_RUNTIME_ENV_PREFIXES)


def container_name(job: JobInput) -> str:
    """The name the job's container gets: `fleetstack-<run name>-<run id prefix>`.

    The engine can use it to remove a container left behind (`docker rm -f NAME`).
    """
    run = _CONTAINER_NAME_UNSAFE.sub("-", job.run_name.lower()).strip("-.")[:48] or "run"
    run_id = _CONTAINER_NAME_UNSAFE.sub("-", job.run_id.lower()).strip("-.")[:12] or "0"
    return f"fleetstack-{run}-{run_id}"


def effective_gpu_vendor(job: JobInput, default_vendor: str | None = None) -> str | None:
    """The vendor whose devices the container gets, or None when the job uses no GPU."""
    if job.gpus <= 0:
        return None
    return job.gpu_vendor or default_vendor or "nvidia"
