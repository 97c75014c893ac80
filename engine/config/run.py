"""Run configurations: `type: task`, `type: service`, `type: dev-environment`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, WithJsonSchema, field_validator, model_validator

from ..models.resources import IntRange, ResourcesSpec
from .common import (
    Duration,
    PortMapping,
    RunProfileParams,
    Strict,
    check_name,
    parse_port,
    validate_env,
)

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
PYTHON_VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13")


class RegistryAuth(Strict):
    username: str = Field(description="Registry user name")
    password: str = Field(description="Registry password or token, e.g. ${{ secrets.TOKEN }}")


class VolumeMount(Strict):
    name: list[str] | None = Field(
        default=None, description="Network volume name(s) to mount (one is picked per job)"
    )
    instance_path: str | None = Field(
        default=None, description="Path on the instance to mount (instance volume)"
    )
    path: str = Field(description="Mount path inside the container")
    optional: bool | None = Field(
        default=None, description="Skip the instance volume where the path is missing"
    )

    @field_validator("name", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class RepoSpec(Strict):
    local_path: str | None = Field(default=None, description="A local git repo to mount")
    url: str | None = Field(default=None, description="A remote git repo URL to clone")
    branch: str | None = Field(default=None, description="Branch to check out")
    hash: str | None = Field(default=None, description="Commit to check out")
    path: str | None = Field(default=None, description="Where the repo goes in the container")


class FileMount(Strict):
    local_path: str = Field(description="Local file or folder")
    path: str | None = Field(default=None, description="Where it goes in the container")


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
    user: str | None = Field(default=None, description="User inside the container, e.g. root")
    privileged: bool = Field(default=False, description="Run the container in privileged mode")
    entrypoint: str | None = Field(default=None, description="Docker entrypoint")
    working_dir: str | None = Field(
        default=None, description="Working directory inside the container"
    )
    home_dir: str | None = Field(default=None, description="Deprecated: home directory")
    registry_auth: RegistryAuth | None = Field(
        default=None, description="Credentials of a private Docker registry"
    )
    python: Annotated[
        str | None, WithJsonSchema({"type": ["string", "number", "null"]}, mode="validation")
    ] = Field(
        default=None,
        description="Python version of the default image: 3.9, 3.10, 3.11, 3.12 or 3.13 "
        "(not together with image)",
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
        default=None, description="Shell that runs the commands: sh, bash or a path"
    )
    resources: ResourcesSpec = Field(
        default_factory=ResourcesSpec,
        description="Resources: cpu, memory, gpu, disk, shm_size (dstack's grammar)",
    )
    volumes: list[str | VolumeMount] = Field(
        default_factory=list,
        description="Volumes: name:/path (network) or /instance/path:/path (instance)",
    )
    docker: bool | None = Field(default=None, description="Run Docker inside the container")
    repos: list[str | RepoSpec] = Field(
        default_factory=list, description="Git repos to mount into the container"
    )
    files: list[str | FileMount] = Field(
        default_factory=list, description="Local files to upload: local:path or a mapping"
    )
    setup: list[str] = Field(default_factory=list, description="Deprecated: put it in commands")
    commands: list[str] = Field(default_factory=list, description="Shell commands to run")
    idle_duration: Duration = Field(
        default=DEFAULT_RUN_IDLE_DURATION,
        description="Keep an instance this run created idle this long for reuse, e.g. 1h or "
        "off (default 5m)",
    )

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: object) -> object:
        return validate_env(value)

    @field_validator("python", mode="before")
    @classmethod
    def _python(cls, value: object) -> object:
        if isinstance(value, float):  # YAML reads 3.10 as 3.1
            value = {3.1: "3.10", 3.9: "3.9", 3.11: "3.11", 3.12: "3.12", 3.13: "3.13"}.get(
                value, str(value)
            )
        if value is not None and str(value) not in PYTHON_VERSIONS:
            raise ValueError(
                f"python {value} is not offered: use one of {', '.join(PYTHON_VERSIONS)}"
            )
        return None if value is None else str(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return check_name(value)

    @field_validator("commands", "setup", mode="before")
    @classmethod
    def _commands(cls, value: object) -> object:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list):
            return [str(v) if isinstance(v, int | float) else v for v in value]
        return value

    @model_validator(mode="after")
    def _image_or_python(self) -> BaseRunConfiguration:
        if self.image and self.python:
            raise ValueError("image and python cannot be set together: keep one")
        return self


class TaskConfiguration(BaseRunConfiguration):
    """`type: task`: commands that run to completion (training, fine-tuning, batch jobs)."""

    type: Literal["task"] = Field(description="task")
    ports: list[PortMapping] = Field(
        default_factory=list, description='Ports to forward: 8000 or "9000:9090" (local:container)'
    )
    nodes: int = Field(default=1, ge=1, description="Number of nodes (multi-node task)")

    @model_validator(mode="after")
    def _needs_commands(self) -> TaskConfiguration:
        if not self.commands and not self.image:
            raise ValueError("a task needs commands (or an image whose entrypoint does the work)")
        return self


class ModelSpec(Strict):
    type: Literal["chat"] = Field(default="chat", description="Model type: chat")
    name: str = Field(description="Model name, e.g. meta-llama/Meta-Llama-3.1-8B-Instruct")
    format: Literal["openai", "tgi"] = Field(default="openai", description="API format")
    prefix: str | None = Field(default=None, description="URL prefix of the OpenAI API")


class ScalingSpec(Strict):
    metric: Literal["rps"] = Field(default="rps", description="Metric to scale on: rps")
    target: float = Field(gt=0, description="Target value of the metric per replica")
    scale_up_delay: Duration = Field(default=300, description="Delay before scaling up")
    scale_down_delay: Duration = Field(default=600, description="Delay before scaling down")


class RateLimitKey(Strict):
    type: Literal["ip_address", "header"] = Field(description="ip_address or header")
    header: str | None = Field(default=None, description="Header name when type is header")


class RateLimit(Strict):
    prefix: str = Field(default="/", description="URL prefix the limit applies to")
    key: RateLimitKey | None = Field(default=None, description="What a limit is counted per")
    rps: float = Field(gt=0, description="Requests per second")
    burst: int = Field(default=0, ge=0, description="Requests allowed above rps in a burst")


class ProbeSpec(Strict):
    type: Literal["http"] = Field(default="http", description="Probe type: http")
    url: str = Field(default="/", description="Path to request")
    method: str = Field(default="get", description="HTTP method")
    headers: list[dict[str, str]] = Field(default_factory=list, description="Request headers")
    body: str | None = Field(default=None, description="Request body")
    timeout: Duration = Field(default=10, description="Request timeout")
    interval: Duration = Field(default=15, description="Time between probes")
    ready_after: int = Field(default=1, ge=1, description="Successes before ready")


class ServiceConfiguration(BaseRunConfiguration):
    """`type: service`: a web app or model endpoint behind a port."""

    type: Literal["service"] = Field(description="service")
    port: PortMapping = Field(description="The port the app listens on, e.g. 8000 or 80:8000")
    gateway: bool | str | None = Field(
        default=None, description="Gateway name, false for none (default: the default gateway)"
    )
    strip_prefix: bool = Field(default=True, description="Strip /proxy/services/... prefix")
    model: str | ModelSpec | None = Field(
        default=None, description="Model name (OpenAI-compatible endpoint) or a mapping"
    )
    https: bool | Literal["auto"] | None = Field(
        default=None, description="Serve over HTTPS (default auto)"
    )
    auth: bool = Field(default=True, description="Require the dstack token to call the service")
    replicas: IntRange = Field(
        default_factory=lambda: IntRange(min=1, max=1),
        description="Number of replicas: 1, or a range 1..4 with scaling",
    )
    scaling: ScalingSpec | None = Field(default=None, description="Autoscaling on rps")
    rate_limits: list[RateLimit] = Field(default_factory=list, description="Rate limits")
    probes: list[ProbeSpec] = Field(default_factory=list, description="Readiness probes")

    @model_validator(mode="after")
    def _replicas_need_scaling(self) -> ServiceConfiguration:
        rep = self.replicas
        if rep.min != rep.max and self.scaling is None:
            raise ValueError("replicas as a range needs scaling: {metric: rps, target: 10}")
        return self


class DevEnvironmentConfiguration(BaseRunConfiguration):
    """`type: dev-environment`: an IDE (VS Code, Cursor) attached to a cloud machine."""

    type: Literal["dev-environment"] = Field(description="dev-environment")
    ide: Literal["vscode", "cursor", "windsurf"] | None = Field(
        default=None, description="IDE to set up: vscode, cursor or windsurf"
    )
    version: str | None = Field(default=None, description="IDE server version")
    init: list[str] = Field(default_factory=list, description="Commands run before the IDE")
    inactivity_duration: Duration = Field(
        default=None, description="Stop after this long without an SSH connection, e.g. 2h"
    )
    ports: list[PortMapping] = Field(
        default_factory=list, description='Ports to forward: 8000 or "9000:9090"'
    )

    @field_validator("init", mode="before")
    @classmethod
    def _init(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


RUN_TYPES: dict[str, type[BaseModel]] = {
    "task": TaskConfiguration,
    "service": ServiceConfiguration,
    "dev-environment": DevEnvironmentConfiguration,
}

__all__ = [
    "BaseRunConfiguration",
    "DevEnvironmentConfiguration",
    "RUN_TYPES",
    "ServiceConfiguration",
    "TaskConfiguration",
    "parse_port",
]
