"""Run configurations: `type: task`, `type: service`, `type: dev-environment`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Annotated, Literal, Protocol

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from ..models.resources import ResourcesSpec
from .base import FieldError
from .common import (
    Duration,
    PortMapping,
    PositiveDuration,
    RunProfileParams,
    Strict,
    check_name,
    parse_port,
    validate_env,
)
from .mounts import FileMount, RepoSpec, VolumeMount

ENV_SCHEMA = {
    "anyOf": [
        {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        },
        {"type": "array", "items": {"type": "string"}},
    ]
}
# None: a `- NAME` entry, taken from the caller's environment when the run is submitted
Env = Annotated[dict[str, str | None], WithJsonSchema(ENV_SCHEMA, mode="validation")]
DEFAULT_RUN_IDLE_DURATION = 300  # dstack: a fleet created for a run idles 5m
PYTHON_VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13")  # those fleetstack has images of
ACCEPTED_PYTHON_VERSIONS = (*PYTHON_VERSIONS, "3.14", "3.15")  # dstack's (apply refuses the rest)
GROUP_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def python_version(value: object) -> object:
    """`python` as text ("3.10" from YAML's 3.1), refused unless it is one of PYTHON_VERSIONS."""
    if isinstance(value, float):  # YAML reads 3.10 as 3.1
        value = "3.10" if value == 3.1 else str(value)
    if value is not None and str(value) not in ACCEPTED_PYTHON_VERSIONS:
        raise ValueError(f"python {value} is not offered: use one of {', '.join(PYTHON_VERSIONS)}")
    return None if value is None else str(value)


def commands_list(value: object) -> object:
    """Commands as a list of strings: a single string is refused, as dstack refuses it."""
    if isinstance(value, str):
        raise ValueError(f"expected a list of commands: write [{value}] or one `- ...` per line")
    return value


# commands: a list of strings (one string is refused, as dstack refuses it)
Commands = Annotated[list[str], BeforeValidator(commands_list)]
PythonVersion = Annotated[
    str | None,
    BeforeValidator(python_version),
    WithJsonSchema({"type": ["string", "number", "null"]}, mode="validation"),
]


class RegistryAuth(Strict):
    username: str = Field(description="Registry user name")
    password: str = Field(description="Registry password or token, e.g. ${{ secrets.TOKEN }}")


class BaseRunConfiguration(RunProfileParams):
    """Fields every run configuration has."""

    type: str
    name: str | None = Field(
        default=None,
        description="Run name: lowercase letters, digits and hyphens (default: generated)",
    )
    image: str | None = Field(
        default=None, description="Docker image (default: dstack's CUDA image with Python)"
    )
    user: str | None = Field(
        default=None, description="User (and group) inside the container: root, 1000:1000..."
    )
    privileged: bool = Field(default=False, description="Run the container in privileged mode")
    entrypoint: str | None = Field(default=None, description="Docker entrypoint")
    working_dir: str | None = Field(
        default=None, description="Working directory inside the container"
    )
    home_dir: str | None = Field(default=None, description="Deprecated: home directory")
    registry_auth: RegistryAuth | None = Field(
        default=None, description="Credentials of a private Docker registry"
    )
    python: PythonVersion = Field(
        default=None,
        description="Python version of the default image: 3.9 to 3.15 (not together with image)",
    )
    nvcc: bool | None = Field(
        default=None, description="Use the default image with the CUDA compiler (nvcc)"
    )
    single_branch: bool | None = Field(
        default=None, description="Clone only the current branch of the repo"
    )
    env: Env = Field(
        default_factory=dict,
        description="Environment variables: a mapping, or a list of KEY=VALUE and KEY "
        "(a KEY alone is taken from your environment when the run is submitted)",
    )
    shell: str | None = Field(
        default=None, description="Shell that runs the commands: sh, bash or an absolute path"
    )
    resources: ResourcesSpec = Field(
        default_factory=ResourcesSpec,
        description="Resources: cpu, memory, gpu, disk, shm_size (dstack's grammar)",
    )
    volumes: list[VolumeMount] = Field(
        default_factory=list,
        description="Volumes: name:/path (network) or /instance/path:/path (instance)",
    )
    docker: bool | None = Field(
        default=None, description="Run Docker inside the container (dstack's DinD image)"
    )
    repos: list[RepoSpec] = Field(
        default_factory=list, max_length=1, description="The git repo to put in the container"
    )
    files: list[FileMount] = Field(
        default_factory=list, description="Local files to upload: local:path or a mapping"
    )
    dstack: bool = Field(
        default=False, description="Give the run a connection to the dstack server (its CLI)"
    )
    setup: Commands = Field(default_factory=list, description="Deprecated: put it in commands")
    commands: Commands = Field(default_factory=list, description="Shell commands to run")
    idle_duration: Duration = Field(
        default=DEFAULT_RUN_IDLE_DURATION,
        description="Keep an instance this run created idle this long for reuse, e.g. 1h or "
        "off (default 5m)",
    )

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: object) -> object:
        return validate_env(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return check_name(value)

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        return value if value is None else check_user(value)

    @field_validator("shell")
    @classmethod
    def _shell(cls, value: str | None) -> str | None:
        if value is None or value in ("sh", "bash") or PurePosixPath(value).is_absolute():
            return value
        raise ValueError(
            f"shell {value!r}: write sh, bash or an absolute path such as /bin/{value}"
        )

    @model_validator(mode="after")
    def _image_or_python(self) -> BaseRunConfiguration:
        check_image_sources(self)
        return self


class ImageSources(Protocol):
    image: str | None
    python: str | None
    nvcc: bool | None
    docker: bool | None


def check_image_sources(holder: ImageSources) -> None:
    """Where the container comes from is said once: image, python (+nvcc) or docker: true."""
    if holder.image and holder.python:
        raise FieldError("python", "image and python cannot be set together: keep one")
    for other, value in (("image", holder.image), ("python", holder.python), ("nvcc", holder.nvcc)):
        if holder.docker and value:
            raise FieldError("docker", f"docker: true and {other} cannot be set together: keep one")


def check_user(value: str) -> str:
    """`user` unchanged when it is USER or USER:GROUP (names or ids >= 0); else a ValueError."""
    parts = value.split(":")
    if len(parts) > 2 or any(not p or p.startswith("-") and p[1:].isdigit() for p in parts):
        raise ValueError(f"user {value!r}: write USER or USER:GROUP, e.g. root or 1000:1000")
    return value


class TaskConfiguration(BaseRunConfiguration):
    """`type: task`: commands that run to completion (training, fine-tuning, batch jobs)."""

    type: Literal["task"] = Field(description="task")
    ports: list[PortMapping] = Field(
        default_factory=list, description='Ports to forward: 8000 or "9000:9090" (local:container)'
    )
    nodes: int = Field(default=1, ge=1, description="Number of nodes (multi-node task)")
    groups: list[NodeGroup] | None = Field(
        default=None,
        min_length=1,
        description="Node groups with their own nodes, resources, commands (not with nodes)",
    )

    @field_validator("nodes", mode="before")
    @classmethod
    def _one_node(cls, value: object) -> object:
        return 1 if value is None else value  # dstack: null nodes is one node

    @model_validator(mode="after")
    def _needs_commands(self) -> TaskConfiguration:
        if self.groups is not None:
            check_groups(self.groups, "node group")
            if "nodes" in self.model_fields_set:
                raise FieldError(
                    "nodes", "nodes and groups cannot be set together: give each group nodes"
                )
            for what in ("commands", "ports", "entrypoint"):
                if getattr(self, what):
                    raise FieldError(
                        what, f"with groups, {what} belong in each group: move them there"
                    )
            if not self.image and not all(g.commands for g in self.groups):
                raise FieldError("groups", "each node group needs commands (or the task an image)")
        elif not self.commands and not self.image:
            raise FieldError(
                "commands", "a task needs commands (or an image whose entrypoint does the work)"
            )
        return self


class NodeGroup(Strict):
    """One group of a task's nodes: how many, on what resources, running what."""

    name: str | None = Field(
        default=None, description="Group name: lowercase letters, digits, - (default: its index)"
    )
    nodes: int = Field(default=1, ge=1, description="Nodes in this group")
    resources: ResourcesSpec = Field(
        default_factory=ResourcesSpec, description="Resources of each node of this group"
    )
    commands: Commands = Field(default_factory=list, description="Commands this group runs")
    ports: list[PortMapping] = Field(default_factory=list, description="Ports this group exposes")


class NamedGroup(Protocol):
    name: str | None


def check_groups(groups: Sequence[NamedGroup], what: str, field: str = "groups") -> None:
    """Group names valid and unique (a group without one is named by its index)."""
    names = [g.name if g.name is not None else str(i) for i, g in enumerate(groups)]
    for i, name in enumerate(names):
        if not GROUP_NAME.match(name):
            raise FieldError(
                (field, i, "name"),
                f"{what} name {name!r}: lowercase letters, digits and -, up to 40",
            )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FieldError(field, f"{what} names must be unique: {', '.join(repeated)} repeats")


class DevEnvironmentConfiguration(BaseRunConfiguration):
    """`type: dev-environment`: an IDE (VS Code, Cursor) attached to a cloud machine."""

    type: Literal["dev-environment"] = Field(description="dev-environment")
    ide: Literal["vscode", "cursor", "windsurf", "zed"] | None = Field(
        default=None, description="IDE to set up: vscode, cursor, windsurf or zed"
    )
    version: str | None = Field(
        default=None, description="IDE server version (needs ide; windsurf: VERSION@COMMIT)"
    )
    init: Commands = Field(default_factory=list, description="Commands run before the IDE")
    inactivity_duration: PositiveDuration = Field(
        default=None, description="Stop after this long without an SSH connection, e.g. 2h"
    )
    ports: list[PortMapping] = Field(
        default_factory=list, description='Ports to forward: 8000 or "9000:9090"'
    )

    @model_validator(mode="after")
    def _dev_rules(self) -> DevEnvironmentConfiguration:
        if self.commands:
            raise FieldError("commands", "a dev-environment has no commands: put them in init")
        if self.entrypoint is not None:
            raise FieldError(
                "entrypoint", "a dev-environment has no entrypoint: remove it (init runs first)"
            )
        if self.version and self.ide is None:
            raise FieldError(
                "version", "version needs ide: add ide: vscode (or cursor, windsurf, zed)"
            )
        if (
            self.ide == "windsurf"
            and self.version
            and not re.match(r"^.+@[a-f0-9]+$", self.version)
        ):
            raise FieldError("version", f"windsurf version {self.version!r}: write VERSION@COMMIT")
        if self.dstack and self.inactivity_duration is not None:
            raise FieldError(
                "inactivity_duration", "dstack: true and inactivity_duration cannot be set together"
            )
        return self


__all__ = [
    "BaseRunConfiguration",
    "DevEnvironmentConfiguration",
    "NodeGroup",
    "TaskConfiguration",
    "commands_list",
    "parse_port",
]
