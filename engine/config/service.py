"""`type: service`: a web app or model endpoint behind a port, one or more replica groups."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ..models.resources import IntRange, ResourcesSpec
from .base import FieldError
from .common import Duration, EntityReference, PortMapping, PositiveDuration, SpotPolicy, Strict
from .run import (
    BaseRunConfiguration,
    Commands,
    PythonVersion,
    check_groups,
    check_image_sources,
)

SCALING_WINDOWS = (30, 60, 300)  # seconds dstack's gateway averages rps over
_GROUP_LEVEL = ("image", "docker", "privileged", "python", "nvcc", "spot_policy", "reservation")
# a container source set on the service rules these out in its groups (dstack's rule)
_ACROSS = {
    "image": ("docker", "python", "nvcc"),
    "docker": ("image", "python", "nvcc"),
    "python": ("image", "docker"),
    "nvcc": ("image", "docker"),
}


class ModelSpec(Strict):
    """The model a service serves, published on the OpenAI-compatible endpoint."""

    type: Literal["chat"] = Field(default="chat", description="Model type: chat")
    name: str = Field(description="Model name, e.g. meta-llama/Meta-Llama-3.1-8B-Instruct")
    format: Literal["openai", "tgi"] = Field(
        description="API the app speaks: openai, or tgi (translated to OpenAI's)"
    )
    prefix: str | None = Field(
        default=None, description="openai format: path of the API base URL (default /v1)"
    )
    chat_template: str | None = Field(
        default=None, description="tgi format: Jinja chat template (default: the model's)"
    )
    eos_token: str | None = Field(
        default=None, description="tgi format: end-of-sequence token (default: the model's)"
    )

    @model_validator(mode="after")
    def _format_fields(self) -> ModelSpec:
        if self.format == "openai" and (self.chat_template or self.eos_token):
            raise FieldError(
                "chat_template" if self.chat_template else "eos_token",
                "chat_template and eos_token go with format: tgi",
            )
        if self.format == "tgi" and self.prefix is not None:
            raise FieldError("prefix", "prefix goes with format: openai")
        return self


class ScalingSpec(Strict):
    metric: Literal["rps"] = Field(description="Metric to scale on: rps (requests per second)")
    target: float = Field(gt=0, description="Target value of the metric per replica")
    window: Duration = Field(
        default=None, description="Window rps is averaged over: 30s, 1m or 5m (default 1m)"
    )
    scale_up_delay: Duration = Field(default=300, description="Least time between scale-ups")
    scale_down_delay: Duration = Field(default=600, description="Least time between scale-downs")

    @field_validator("window")
    @classmethod
    def _window(cls, value: int | None) -> int | None:
        if value is not None and value not in SCALING_WINDOWS:
            raise ValueError(f"window {value}s is not offered: use 30s, 1m or 5m")
        return value


class RateLimitKey(Strict):
    type: Literal["ip_address", "header"] = Field(description="ip_address or header")
    header: str | None = Field(
        default=None, pattern=r"^[a-zA-Z0-9-_]+$", description="Header name when type is header"
    )

    @model_validator(mode="after")
    def _header(self) -> RateLimitKey:
        if (self.type == "header") != (self.header is not None):
            raise FieldError(
                "header", "a header key needs header: NAME (and an ip_address key none)"
            )
        return self


class RateLimit(Strict):
    prefix: str = Field(
        default="/", pattern=r"^/[^\s\\{}]*$", description="URL prefix the limit applies to"
    )
    key: RateLimitKey | None = Field(default=None, description="What a limit is counted per")
    rps: float = Field(ge=1 / 60, description="Requests per second allowed")
    burst: int = Field(default=0, ge=0, description="Requests allowed above rps in a burst")


class HTTPHeader(Strict):
    name: str = Field(min_length=1, max_length=256, description="Header name")
    value: str = Field(min_length=1, max_length=2048, description="Header value")


class ProbeSpec(Strict):
    type: Literal["http"] = Field(description="Probe type: http")
    url: str | None = Field(
        default=None, max_length=2048, pattern=r"^/", description="Path to request (default /)"
    )
    method: Literal["get", "post", "put", "delete", "patch", "head"] | None = Field(
        default=None, description="HTTP method (default get)"
    )
    headers: list[HTTPHeader] = Field(default_factory=list, max_length=16, description="Headers")
    body: str | None = Field(default=None, min_length=1, max_length=2048, description="Body")
    timeout: PositiveDuration = Field(
        default=None, ge=1, description="Request timeout, at least 1s (default 10s)"
    )
    interval: PositiveDuration = Field(
        default=None, ge=1, description="Time between probes, at least 1s (default 15s)"
    )
    ready_after: int | None = Field(default=None, ge=1, description="Successes before ready (1)")
    until_ready: bool | None = Field(default=None, description="Stop probing once ready")

    @model_validator(mode="after")
    def _body(self) -> ProbeSpec:
        if self.body is not None and self.method in ("get", "head"):
            raise FieldError("body", f"a {self.method} probe has no body: set method: post")
        return self


class RouterSpec(Strict):
    type: Literal["smg", "sglang", "dynamo"] = Field(
        default="smg", description="Router in front of the group: smg (sglang) or dynamo"
    )


class ReplicaGroup(Strict):
    """One group of a service's replicas: how many, on what, running what."""

    name: str | None = Field(default=None, description="Group name (default: its index)")
    replicas: IntRange = Field(description="Replicas: a count, or a range with scaling (count:)")
    scaling: ScalingSpec | None = Field(default=None, description="Autoscaling of this group")
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec, description="Resources")
    spot_policy: SpotPolicy | None = Field(default=None, description="spot, on-demand or auto")
    reservation: str | None = Field(default=None, description="Cloud reservation to use")
    commands: Commands = Field(default_factory=list, description="Commands this group runs")
    image: str | None = Field(default=None, description="Docker image of this group")
    python: PythonVersion = Field(default=None, description="Python of the default image")
    nvcc: bool | None = Field(default=None, description="Default image with nvcc")
    docker: bool | None = Field(default=None, description="Docker inside the container")
    privileged: bool | None = Field(default=None, description="Privileged container")
    router: RouterSpec | None = Field(default=None, description="Router of this group")

    @model_validator(mode="before")
    @classmethod
    def _count(cls, value: object) -> object:
        if isinstance(value, dict) and "count" not in value and "replicas" not in value:
            raise FieldError("count", "a replica group needs count: e.g. 1, or 1..4 with scaling")
        if isinstance(value, dict) and "count" in value:
            value = dict(value)
            count = value.pop("count")
            value.setdefault("replicas", count)
        return value

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, value: IntRange) -> IntRange:
        return check_replicas(value)

    @model_validator(mode="after")
    def _rules(self) -> ReplicaGroup:
        check_image_sources(self)
        if self.docker and self.privileged is False:
            raise FieldError(
                "privileged", "docker: true needs a privileged container: remove privileged"
            )
        check_scaling(self.replicas, self.scaling)
        return self


def check_replicas(value: IntRange) -> IntRange:
    if value.max is None:
        raise ValueError("replicas needs a maximum: write e.g. 1..4")
    return value if value.min is not None else IntRange(min=0, max=value.max)


def check_scaling(replicas: IntRange | None, scaling: ScalingSpec | None) -> None:
    if replicas is None:
        return
    if replicas.min != replicas.max and scaling is None:
        raise FieldError("replicas", "replicas as a range needs scaling: {metric: rps, target: 10}")
    if replicas.min == replicas.max and scaling is not None:
        raise FieldError(
            "scaling", f"scaling needs replicas as a range: write e.g. 1..{replicas.max or 4}"
        )


_MODEL_SCHEMA = {"anyOf": [{"type": "string"}, ModelSpec.model_json_schema(), {"type": "null"}]}


def _replicas_form(value: object) -> str:
    return "list[ReplicaGroup]" if isinstance(value, list) else "IntRange"


# a count or range, or (dstack's older spelling of groups) a list of replica groups; the
# discriminator keeps the errors of the form written only
Replicas = Annotated[
    Annotated[IntRange, Tag("IntRange")] | Annotated[list[ReplicaGroup], Tag("list[ReplicaGroup]")],
    Discriminator(_replicas_form),
]


class ServiceConfiguration(BaseRunConfiguration):
    """`type: service`: a web app or model endpoint behind a port."""

    type: Literal["service"] = Field(description="service")
    port: PortMapping = Field(description="The port the app listens on, e.g. 8000 or 80:8000")
    gateway: bool | EntityReference | None = Field(
        default=None,
        description="Gateway name (or project/name), false for none (default: the default one)",
    )
    strip_prefix: bool = Field(default=True, description="Strip /proxy/services/... prefix")
    model: Annotated[ModelSpec | None, WithJsonSchema(_MODEL_SCHEMA, mode="validation")] = Field(
        default=None,
        description="Model served on the OpenAI-compatible endpoint: its name, or a mapping",
    )
    https: bool | Literal["auto"] | None = Field(
        default=None, description="Serve over HTTPS (default auto)"
    )
    auth: bool = Field(default=True, description="Require the dstack token to call the service")
    replicas: Replicas = Field(
        default_factory=lambda: IntRange(min=1, max=1),
        description="Replicas: 1, a range 1..4 with scaling, or a list of replica groups",
    )
    groups: list[ReplicaGroup] | None = Field(
        default=None,
        min_length=1,
        description="Replica groups, each with its replicas, resources and commands",
    )
    scaling: ScalingSpec | None = Field(default=None, description="Autoscaling on rps")
    rate_limits: list[RateLimit] = Field(default_factory=list, description="Rate limits")
    probes: list[ProbeSpec] = Field(default_factory=list, description="Readiness probes")

    @property
    def replica_groups(self) -> list[ReplicaGroup] | None:
        """The replica groups, whether the file says `groups:` or lists them under replicas."""
        return self.replicas if isinstance(self.replicas, list) else self.groups

    @property
    def groups_field(self) -> str:
        """The field that holds the replica groups as the file writes it."""
        return "replicas" if isinstance(self.replicas, list) else "groups"

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, value: object) -> object:
        return {"name": value, "format": "openai"} if isinstance(value, str) else value

    @field_validator("replicas", mode="before")
    @classmethod
    def _default_replicas(cls, value: object) -> object:
        return 1 if value is None else value  # dstack: null replicas is one replica

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, value: IntRange | list[ReplicaGroup]) -> IntRange | list[ReplicaGroup]:
        if isinstance(value, list):
            if not value:
                raise ValueError("replicas as a list needs at least one replica group")
            return value
        return check_replicas(value)

    @field_validator("rate_limits")
    @classmethod
    def _unique_prefixes(cls, value: list[RateLimit]) -> list[RateLimit]:
        prefixes = [limit.prefix for limit in value]
        repeated = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if repeated:
            raise ValueError(f"rate_limits has prefix {repeated[0]} twice: merge them")
        return value

    @model_validator(mode="after")
    def _rules(self) -> ServiceConfiguration:
        groups, field = self.replica_groups, self.groups_field
        if groups is None:
            written = self.replicas if "replicas" in self.model_fields_set else None
            check_scaling(written if isinstance(written, IntRange) else None, self.scaling)
            if not self.commands and not self.image:
                raise FieldError(
                    "commands", "a service needs commands (or an image that starts the app)"
                )
            return self
        check_groups(groups, "replica group", field)
        if self.groups is not None and "replicas" in self.model_fields_set:
            raise FieldError("replicas", "replicas and groups cannot be set together: keep groups")
        for name in ("scaling", "commands"):
            if getattr(self, name):
                raise FieldError(name, f"with replica groups, {name} belongs in each group")
        for name in _GROUP_LEVEL:
            mine = getattr(self, name)
            if mine and any(getattr(g, name) is not None for g in groups):
                raise FieldError(name, f"{name} is set on the service and in a group: keep one")
        for name, others in _ACROSS.items():
            for other in others if getattr(self, name) else ():
                if any(getattr(g, other) is not None for g in groups):
                    raise FieldError(name, f"{name} on the service and {other} in a group clash")
        check_group_contents(groups, field, self.image is not None)
        return self


def check_group_contents(groups: list[ReplicaGroup], field: str, image: bool) -> None:
    """Each replica group runs something; at most one has a router, with one replica."""
    for i, group in enumerate(groups):
        if not group.commands and group.image is None and not image:
            raise FieldError((field, i), "a replica group needs commands (or an image)")
    routed = [i for i, g in enumerate(groups) if g.router is not None]
    if len(routed) > 1:
        raise FieldError((field, routed[1], "router"), "only one replica group may have a router")
    for i in routed:
        replicas = groups[i].replicas
        if (replicas.min, replicas.max) != (1, 1):
            raise FieldError((field, i), "the replica group with a router has count: 1 for now")
