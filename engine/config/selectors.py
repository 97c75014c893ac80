"""References a configuration makes to other things: fleets, instances, backends' options."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..models.short_forms import ShortForms
from .base import Strict


class EntityReference(ShortForms, Strict):
    """A fleet (or gateway) of this project by name, or of another as `project/name`."""

    project: str | None = Field(default=None, description="Project owning it (default: this)")
    name: str = Field(min_length=1, description="Its name")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, str):
            project, sep, name = value.rpartition("/")
            return {"project": project or None, "name": name} if sep else {"name": value}
        return value


class InstanceSelector(ShortForms, Strict):
    """An instance a run may use: its name, {hostname: ...} or {fleet: NAME, instance: N}."""

    name: str | None = Field(default=None, min_length=1, description="Instance name")
    hostname: str | None = Field(
        default=None, min_length=1, description="Instance hostname or IP address"
    )
    fleet: EntityReference | None = Field(default=None, description="Fleet of the instance")
    instance: int | None = Field(default=None, ge=0, description="Instance number in the fleet")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_form(self) -> InstanceSelector:
        forms = [self.name is not None, self.hostname is not None, self.fleet is not None]
        if sum(forms) != 1 or (self.fleet is None) != (self.instance is None):
            raise ValueError(
                "an instance is a name, {hostname: HOST} or {fleet: NAME, instance: N}"
            )
        return self


class BackendOptions(Strict):
    """Options of one backend's offers (dstack has them for vastai)."""

    type: Literal["vastai"] = Field(description="The backend these options apply to: vastai")
    offer_order: Literal["score", "price"] | None = Field(
        default=None, description="Consider offers by score (default) or by price"
    )
    min_reliability: float | None = Field(
        default=None, ge=0, le=1, description="Least reliability of an offer, 0 to 1 (0.9)"
    )
    min_score: int | None = Field(default=None, ge=0, description="Least score of an offer")
