"""The base of every configuration model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown fields are errors (the loader says which fields exist)."""

    # numbers where text is expected are read as text (`name: 5`, `regions: [1]`), as dstack does
    model_config = ConfigDict(extra="forbid", populate_by_name=True, coerce_numbers_to_str=True)


class FieldError(ValueError):
    """A rule of a model about one of its fields: the error is located at that field."""

    def __init__(self, field: str | tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path: tuple[str | int, ...] = (field,) if isinstance(field, str) else field
