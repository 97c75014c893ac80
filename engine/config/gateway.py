"""`type: gateway` and `type: volume`: dstack's other configurations. `dstack validate` checks
them as dstack does; fleetstack does not create them yet (apply says so, doing nothing)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from ..models.resources import parse_size
from .base import FieldError
from .common import NAMES, Duration, Strict, check_backend, check_tags, listed


def _field_sets(key: str) -> dict[str, set[str]]:
    """names.yml's mapping under `key`: a kind -> the field names listed for it."""
    table = NAMES.get(key)
    if not isinstance(table, dict):
        return {}
    return {str(k): {str(f) for f in v} for k, v in table.items() if isinstance(v, list)}


# fields a volume of each backend may have, beyond type, name, backend, tags, auto_cleanup
_VOLUME_FIELDS = _field_sets("volumes")
_NEEDS_REGION = {str(n) for n in listed(NAMES, "volumes_with_region")}
_CERTIFICATE_FIELDS = _field_sets("certificates")  # certificate type -> the fields it needs


class Certificate(Strict):
    type: str = Field(
        description="lets-encrypt (automatic), acm (AWS Certificate Manager, with arn) or "
        "gcp-cm (Google Certificate Manager, with name)"
    )
    arn: str | None = Field(default=None, description="acm: the certificate's ARN")
    name: str | None = Field(default=None, description="gcp-cm: the certificate's name")

    @model_validator(mode="after")
    def _fields(self) -> Certificate:
        needed = _CERTIFICATE_FIELDS.get(self.type)
        if needed is None:
            raise FieldError(
                "type",
                f"certificate type {self.type!r}: use one of {', '.join(_CERTIFICATE_FIELDS)}",
            )
        given = {f for f in ("arn", "name") if getattr(self, f) is not None}
        for field in sorted(needed ^ given):
            verb = "needs" if field in needed else "takes no"
            raise FieldError(field, f"a certificate of type {self.type} {verb} {field}")
        return self


class LoadBalancer(Strict):
    type: Literal["alb"] = Field(default="alb", description="alb: an AWS Application LB")


class GatewayConfiguration(Strict):
    """`type: gateway`: the public entry point (domain, TLS) of a project's services."""

    type: Literal["gateway"] = Field(description="gateway")
    name: str | None = Field(default=None, description="Gateway name")
    default: bool | None = Field(default=None, description="Services use it unless they say")
    backend: str = Field(description="Backend that hosts the gateway, e.g. aws")
    region: str = Field(description="Region of the gateway")
    instance_type: str | None = Field(
        default=None, min_length=1, description="Instance type of the gateway's machine"
    )
    domain: str | None = Field(
        default=None, description="Wildcard domain of services, e.g. example.com"
    )
    load_balancer: LoadBalancer | None = Field(default=None, description="A cloud LB in front")
    certificate: Certificate | None = Field(
        default=None, description="TLS certificate (default: Let's Encrypt)"
    )
    replicas: int | None = Field(default=None, ge=1, description="Gateway replicas (default 1)")
    public_ip: bool = Field(default=True, description="Give the gateway a public IP")
    tags: dict[str, str] | None = Field(default=None, description="Tags of cloud resources")

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        return check_tags(value)

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        check_backend(value)
        return value


class VolumeConfiguration(Strict):
    """`type: volume`: a network volume (a cloud disk) that runs mount by name."""

    type: Literal["volume"] = Field(description="volume")
    name: str | None = Field(default=None, description="Volume name, as runs mount it")
    backend: str = Field(
        description="Backend of the volume: aws, gcp, runpod, kubernetes, daytona or lium"
    )
    region: str | None = Field(default=None, description="Region (kubernetes: the cluster)")
    availability_zone: str | None = Field(default=None, description="Zone (aws, gcp)")
    size: Annotated[
        float | None,
        WithJsonSchema({"type": ["number", "string", "null"]}, mode="validation"),
    ] = Field(default=None, ge=0, description="Size of a new volume, e.g. 100GB")
    volume_id: str | None = Field(default=None, description="An existing volume to register")
    auto_cleanup_duration: Duration = Field(
        default=None, description="Delete the volume after it is unused this long, e.g. 1w"
    )
    claim_name: str | None = Field(default=None, description="kubernetes: existing claim")
    storage_class_name: str | None = Field(default=None, description="kubernetes: class")
    access_modes: list[str] | None = Field(default=None, description="kubernetes: access modes")
    read_only: bool | None = Field(default=None, description="kubernetes: mount read-only")
    tags: dict[str, str] | None = Field(default=None, description="Tags of cloud resources")

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        return check_tags(value)

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        return None if value is None else parse_size(value)

    @field_validator("backend")
    @classmethod
    def _volume_backend(cls, value: str) -> str:
        if value not in _VOLUME_FIELDS:
            raise ValueError(f"no volumes on {value!r}: use one of {', '.join(_VOLUME_FIELDS)}")
        return value

    @model_validator(mode="after")
    def _backend_fields(self) -> VolumeConfiguration:
        allowed = _VOLUME_FIELDS[self.backend]
        extra = sorted(f for f in self.model_fields_set if f in _ALL_SPECIFIC and f not in allowed)
        if extra:
            raise FieldError(extra[0], f"a volume on {self.backend} has no {extra[0]}: remove it")
        if self.backend in _NEEDS_REGION and self.region is None:
            raise FieldError("region", f"a volume on {self.backend} needs region")
        return self


_ALL_SPECIFIC = set().union(*_VOLUME_FIELDS.values())
