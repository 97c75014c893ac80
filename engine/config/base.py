"""The base of every configuration model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown fields are errors (the loader says which fields exist)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
