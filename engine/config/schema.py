"""The JSON Schema of .dstack.yml, generated from the models (for editors and `dstack schema`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from ..models.json import JSONObject
from .fleet import FleetConfiguration
from .gateway import GatewayConfiguration, VolumeConfiguration
from .run import (
    DevEnvironmentConfiguration,
    TaskConfiguration,
)
from .service import ServiceConfiguration

SCHEMA_ID = "https://fleetstack.dev/schemas/dstack.yml.json"


def configuration_schema() -> JSONObject:
    """A JSON Schema (draft 2020-12) that every valid .dstack.yml satisfies."""
    union = Annotated[
        TaskConfiguration
        | ServiceConfiguration
        | DevEnvironmentConfiguration
        | FleetConfiguration
        | GatewayConfiguration
        | VolumeConfiguration,
        Field(discriminator="type"),
    ]
    schema = TypeAdapter(union).json_schema(mode="validation")
    _replica_group_forms(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": ".dstack.yml",
        "description": "A dstack configuration: type task, service, dev-environment, fleet, "
        "gateway or volume",
        **schema,
    }


def _replica_group_forms(schema: JSONObject) -> None:
    """A service's `replicas` may also be a list of replica groups, and a replica group says
    `count` for its replicas (both rewritten by the models before validation)."""
    defs = schema.get("$defs")
    if not isinstance(defs, dict):
        return
    service, group = defs.get("ServiceConfiguration"), defs.get("ReplicaGroup")
    if not isinstance(service, dict) or not isinstance(group, dict):
        return
    properties, own = service.get("properties"), group.get("properties")
    if not isinstance(properties, dict) or not isinstance(own, dict):
        return
    groups: JSONObject = {"type": "array", "items": {"$ref": "#/$defs/ReplicaGroup"}}
    written = properties["replicas"]
    described = written.get("description") if isinstance(written, dict) else None
    properties["replicas"] = {"anyOf": [written, groups], "description": described}
    replicas = own["replicas"]
    own["count"] = (
        {**replicas, "description": "Same as replicas"} if isinstance(replicas, dict) else replicas
    )
    group["required"] = []
