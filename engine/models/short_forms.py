"""The JSON schema of a model that YAML may also write in a short form (`24GB..`, `8000`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from pydantic import GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue
    from pydantic_core import CoreSchema


class ShortForms(BaseModel):
    """A mapping also written in a short form: its JSON schema offers the short form's
    `json_types` first, then the mapping."""

    json_types: ClassVar[tuple[str, ...]] = ("integer", "string")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [*({"type": t} for t in cls.json_types), handler(core_schema)]}
