"""Field types shared by every configuration: durations, ports, env, retry, policies."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)

from ..models.durations import parse_duration
from ..models.short_forms import ShortForms
from .base import Strict
from .cron import check_cron
from .selectors import BackendOptions, EntityReference, InstanceSelector

_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "integer"},
        {"type": "string", "pattern": r"^\s*(\d+\s*[smhdwSMHDW]?|off|-1)\s*$"},
        {"type": "boolean", "const": False},
        {"type": "null"},
    ]
}


# seconds; None = off. Input: 30s, 30m, 2h, 1d, 1w, seconds, off (parse_duration is handed
# the raw YAML value and rejects other types itself)
Duration = Annotated[
    int | None, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA, mode="validation")
]

# a list of strings, which YAML may also write as one string
OneOrMany = Annotated[
    list[str],
    WithJsonSchema(
        {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        mode="validation",
    ),
]


def _not_negative(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        raise ValueError(f"a duration cannot be negative ({value}): write e.g. 2h, or off")
    return value


# seconds; None = off, as Duration, but -1 is refused (dstack's max_duration, inactivity)
PositiveDuration = Annotated[Duration, BeforeValidator(_not_negative)]
SpotPolicy = Literal["spot", "on-demand", "auto"]
CreationPolicy = Literal["reuse", "reuse-or-create"]
TerminationPolicy = Literal["dont-destroy", "destroy-after-idle"]
RetryEvent = Literal["no-capacity", "interruption", "error"]
RETRY_EVENTS: list[RetryEvent] = ["no-capacity", "interruption", "error"]
DEFAULT_RETRY_DURATION = 3600
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
_TRUE = {"true", "yes", "on", "y", "t", "1"}
_FALSE = {"false", "no", "off", "n", "f", "0"}
MIN_UTILIZATION_WINDOW = 300  # dstack: a shorter window reads noise as idleness


def listed(names: object, key: str) -> list[object]:
    """The list under `key` of a mapping read from YAML (empty when missing)."""
    value = names.get(key) if isinstance(names, dict) else None
    return value if isinstance(value, list) else []


NAMES: dict[str, object] = yaml.safe_load((Path(__file__).parent / "names.yml").read_text())
_KNOWN_BACKENDS = {str(n) for key in ("dstack", "fleetstack") for n in listed(NAMES, key)}


def known_backends() -> list[str]:
    """Every backend name a configuration may write: dstack's and fleetstack's (names.yml),
    and those registered since."""
    return sorted(_KNOWN_BACKENDS)


def allow_backend_name(name: str, allowed: bool = True) -> None:
    """Let configurations name the backend `name` (or no longer, with allowed=False)."""
    (_KNOWN_BACKENDS.add if allowed else _KNOWN_BACKENDS.discard)(name)


def check_backend(name: object) -> object:
    """`name` unchanged when it is a known backend; else a ValueError listing them."""
    if isinstance(name, str) and name not in known_backends():
        raise ValueError(f"unknown backend {name!r}: use one of {', '.join(known_backends())}")
    return name


class PortMapping(ShortForms, Strict):
    """`8000` (same port on both ends), `"9000:9090"` (local:container), `"*:8080"` (any local),
    `"0.0.0.0:8080:8080"` (fleetstack: the address a local container's port is published on)."""

    local_address: str | None = Field(
        default=None,
        description="fleetstack: where a local container publishes the port (default "
        "127.0.0.1, this machine only; 0.0.0.0 for every interface)",
    )
    local_port: int | None = Field(
        default=None, ge=1, le=65535, description="Port on your machine (null: any free port)"
    )
    container_port: int = Field(ge=1, le=65535, description="Port inside the container")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"description": 'A port: 8000, "9000:9090" (local:container)'},
    )

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return parse_port(value)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # local_address is fleetstack's own: a port that does not set it dumps as dstack's
        data: dict[str, object] = handler(self)
        if data.get("local_address") is None:
            data.pop("local_address", None)
        return data


def parse_port(value: object) -> object:
    """{local_port, container_port} from 8000, "8000", "9000:9090" or "*:8080"."""
    if isinstance(value, dict | PortMapping):
        return value
    if isinstance(value, bool):
        raise ValueError(f'expected a port such as 8000 or "9000:9090", got {value}')
    if isinstance(value, int):
        port = _port_number(str(value), value)
        return {"local_port": port, "container_port": port}
    if not isinstance(value, str):
        raise ValueError(f'expected a port such as 8000 or "9000:9090", got {value!r}')
    text = value.strip()
    address = None
    if text.count(":") >= 2 or text.startswith("["):  # ADDRESS:LOCAL:CONTAINER
        head, local_part, container_part = text.rsplit(":", 2)
        address = _publish_address(head, value)
        text = f"{local_part}:{container_part}"
    if ":" not in text:
        port = _port_number(text, value)
        return {"local_port": port, "container_port": port}
    local, container = (p.strip() for p in text.split(":", 1))
    if not container:
        raise ValueError(
            f"{value!r} has no container port: write {local or 8080}:{local or 8080} "
            f"(local:container) or just {local or 8080}"
        )
    mapping: dict[str, object] = {
        "local_port": None if local in ("*", "") else _port_number(local, value),
        "container_port": _port_number(container, value),
    }
    if address is not None:
        mapping["local_address"] = address
    return mapping


def _publish_address(text: str, whole: object) -> str:
    """The IP address of `ADDRESS:LOCAL:CONTAINER` ([v6] brackets dropped)."""
    address = text.strip().removeprefix("[").removesuffix("]")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise ValueError(
            f"{whole!r}: {text!r} is not an IP address: write e.g. 0.0.0.0:8080:8080 "
            "(every interface) or 127.0.0.1:8080:8080 (this machine only)"
        ) from None


def _port_number(text: str, whole: object) -> int:
    if re.fullmatch(r"-\d+", text) or not re.fullmatch(r"\d+", text):
        raise ValueError(f'{whole!r} is not a port: write e.g. 8000 or "9000:9090"')
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range: ports are 1..65535")
    return port


class RetryPolicy(ShortForms, Strict):
    """`retry: true`, or `{on_events: [no-capacity, interruption, error], duration: 1h}`."""

    json_types: ClassVar[tuple[str, ...]] = ("boolean",)

    on_events: list[RetryEvent] = Field(
        default_factory=lambda: list(RETRY_EVENTS),
        min_length=1,
        description="Events that trigger a retry: no-capacity, interruption, error (default all; "
        "an empty list is refused)",
    )
    duration: Duration = Field(
        default=DEFAULT_RETRY_DURATION,
        description="How long to keep retrying, e.g. 1h or 1d (default 1h)",
    )


def parse_retry(value: object) -> object:
    """None/false -> no retry; true -> every event for 1h; a mapping -> as written."""
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        value = value.strip().lower() in _TRUE  # YAML 1.2 spellings pydantic reads as booleans
    if value is None or value is False:
        return None
    if value is True:
        return {}
    return value


class UtilizationPolicy(Strict):
    min_gpu_utilization: int = Field(
        ge=0, le=100, description="Minimum GPU utilization, percent, over time_window"
    )
    time_window: Duration = Field(
        description="Window over which utilization is averaged, e.g. 30m (at least 5m)"
    )

    @field_validator("time_window")
    @classmethod
    def _long_enough(cls, value: int | None) -> int | None:
        if value is not None and value < MIN_UTILIZATION_WINDOW:
            raise ValueError(f"time_window {value}s is too short: write 5m or more")
        return value


class Schedule(Strict):
    cron: OneOrMany = Field(
        min_length=1,
        description="When the run starts: a cron expression (UTC, 5 fields) or a list of them",
    )

    @field_validator("cron", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("cron")
    @classmethod
    def _valid(cls, value: list[str]) -> list[str]:
        for expression in value:
            check_cron(expression)
        return value


class ProfileParams(BaseModel):
    """Policies a run configuration, a fleet and a profile share (dstack's profile fields)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    backends: list[str] | None = Field(
        default=None, description="Backends to consider, e.g. [aws, gcp] (default: all configured)"
    )
    regions: list[str] | None = Field(default=None, description="Regions to consider")
    availability_zones: list[str] | None = Field(
        default=None, description="Availability zones to consider"
    )
    instance_types: list[str] | None = Field(
        default=None, description="Cloud instance types to consider, e.g. [p4d.24xlarge]"
    )
    reservation: str | None = Field(
        default=None, description="A cloud reservation (e.g. AWS capacity reservation) to use"
    )
    spot_policy: SpotPolicy | None = Field(
        default=None, description="spot, on-demand or auto (cheapest of both)"
    )
    retry: RetryPolicy | None = Field(
        default=None,
        description="Retry on no-capacity, interruption or error: true or "
        "{on_events: [...], duration: 1h}",
    )
    max_price: float | None = Field(
        default=None, gt=0, description="Maximum price per instance per hour, USD"
    )
    idle_duration: Duration = Field(
        default=None,
        description="How long an idle instance is kept before it is terminated, e.g. 1h or off",
    )
    tags: dict[str, str] | None = Field(
        default=None, description="Tags (labels) put on cloud resources"
    )
    backend_options: list[BackendOptions] | None = Field(
        default=None, description="Options of one backend's offers, e.g. [{type: vastai, ...}]"
    )
    # older documents (dstack < 0.18.30) — mapped onto idle_duration
    termination_policy: TerminationPolicy | None = Field(
        default=None,
        description="Deprecated: dont-destroy (= idle_duration: off) or destroy-after-idle",
    )
    termination_idle_time: Duration = Field(
        default=None, description="Deprecated: use idle_duration"
    )

    @field_validator("retry", mode="before")
    @classmethod
    def _retry(cls, value: object) -> object:
        return parse_retry(value)

    @field_validator("backends", "regions", "availability_zones", "instance_types", mode="before")
    @classmethod
    def _a_list(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            raise ValueError(f"expected a list: write [{value}]")
        if info.field_name == "backends" and isinstance(value, list):
            for name in value:
                check_backend(name)
        return value

    @field_validator("backend_options")
    @classmethod
    def _one_entry_per_backend(
        cls, value: list[BackendOptions] | None
    ) -> list[BackendOptions] | None:
        kinds = [o.type for o in value or []]
        if len(set(kinds)) != len(kinds):
            raise ValueError("backend_options has a backend twice: merge its entries")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        return check_tags(value)

    @model_validator(mode="after")
    def _legacy_idle(self) -> ProfileParams:
        if "idle_duration" in self.model_fields_set:
            return self
        if self.termination_policy == "dont-destroy":
            self.idle_duration = None
            self.model_fields_set.add("idle_duration")
        elif "termination_idle_time" in self.model_fields_set:
            self.idle_duration = self.termination_idle_time
            self.model_fields_set.add("idle_duration")
        return self


class LegacyRetryPolicy(Strict):
    """dstack < 0.18: `retry_policy: {retry: true, duration: 1h}`."""

    retry: bool = Field(default=False, description="Retry when there is no capacity")
    duration: Duration = Field(default=None, description="How long to keep retrying")


class RunProfileParams(ProfileParams):
    """Policies of runs (tasks, services, dev environments) and of profiles."""

    max_duration: PositiveDuration = Field(
        default=None, description="Stop the run after this long, e.g. 2h or 1d (default off)"
    )
    stop_duration: Duration = Field(
        default=300, description="Grace period to stop the run before killing it (default 5m)"
    )
    creation_policy: CreationPolicy | None = Field(
        default=None,
        description="reuse (only existing idle instances) or reuse-or-create (default)",
    )
    utilization_policy: UtilizationPolicy | None = Field(
        default=None, description="Stop the run when GPU utilization stays below a threshold"
    )
    startup_order: Literal["any", "master-first", "workers-first"] | None = Field(
        default=None, description="Order in which the jobs of a multi-node run start"
    )
    stop_criteria: Literal["all-done", "master-done"] | None = Field(
        default=None, description="When a multi-node run is done: all-done or master-done"
    )
    schedule: Schedule | None = Field(
        default=None, description="Start the run on a cron schedule: {cron: '0 * * * *'}"
    )
    fleets: list[EntityReference] | None = Field(
        default=None,
        description="Fleets the run may use: names, or project/name (default: any fleet)",
    )
    instances: list[InstanceSelector] | None = Field(
        default=None,
        min_length=1,
        description="Instances the run may use: names, {hostname: ...} or {fleet, instance}",
    )
    priority: int | None = Field(
        default=None, ge=0, le=100, description="Run priority 0..100 in the queue (default 0)"
    )
    retry_policy: LegacyRetryPolicy | None = Field(
        default=None, description="Deprecated: use retry"
    )
    pool_name: str | None = Field(default=None, description="Deprecated (pools are fleets now)")
    instance_name: str | None = Field(default=None, description="Deprecated: ignored")

    @model_validator(mode="after")
    def _legacy_retry(self) -> RunProfileParams:
        legacy = self.retry_policy
        if "retry" in self.model_fields_set or legacy is None or not legacy.retry:
            return self
        self.retry = RetryPolicy(duration=legacy.duration or DEFAULT_RETRY_DURATION)
        self.model_fields_set.add("retry")
        return self


def check_tags(value: object) -> object:
    """`tags` unchanged when every value is text; else a ValueError naming the tag."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, str):
                raise ValueError(f"tag {key!r} has {item!r}: tag values are text, quote it")
    return value


def check_name(value: str | None) -> str | None:
    """A run or fleet name, unchanged when it matches NAME_PATTERN; else a ValueError."""
    if value is not None and not NAME_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: 2-41 lowercase letters, digits and hyphens, "
            "starting with a letter"
        )
    return value


def validate_env(value: object) -> object:
    """The `env` field: a mapping of names to text values, from a mapping or KEY=VALUE items.

    A KEY without a value stays None (taken from the caller's environment at submit); YAML
    booleans and numbers become text.
    """
    env = parse_env(value)
    if not isinstance(env, dict):
        return env  # pydantic reports the wrong type
    check_env_names(env)
    return {k: _env_value(v) for k, v in env.items()}


def parse_env(value: object) -> object:
    """Mapping stays a mapping; a list of KEY=VALUE / KEY becomes a mapping (KEY -> None)."""
    if value is None:
        return {}
    if isinstance(value, list):
        result: dict[str, str | None] = {}
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"env items are KEY=VALUE or KEY, got {item!r}")
            key, sep, val = item.partition("=")
            result[key.strip()] = val if sep else None
        return result
    return value


def check_env_names(env: dict[str, object]) -> None:
    for key in env:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)):
            raise ValueError(f"{key!r} is not an environment variable name (letters, digits, _)")


def _env_value(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value
