"""The JSON Schema of .dstack.yml, generated from the models (for editors and `dstack schema`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from ..models.json import JSONObject
from .fleet import FleetConfiguration
from .run import (
    DevEnvironmentConfiguration,
    ServiceConfiguration,
    TaskConfiguration,
)

SCHEMA_ID = "https://fleetstack.dev/schemas/dstack.yml.json"


def configuration_schema() -> JSONObject:
    """A JSON Schema (draft 2020-12) that every valid .dstack.yml satisfies."""
    union = Annotated[
        TaskConfiguration | ServiceConfiguration | DevEnvironmentConfiguration | FleetConfiguration,
        Field(discriminator="type"),
    ]
    schema = TypeAdapter(union).json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": ".dstack.yml",
        "description": "A dstack configuration: type task, service, dev-environment or fleet",
        **schema,
    }
