"""FleetSpec: the only shape of the `fleets.spec` JSON column.

Written by apply (a fleet with a stack, and an elastic fleet that has no instance yet) with
`model_dump(mode="json")`; read with `FleetSpec.of(fleet.spec)`: rows written before a key
existed read it as its default.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, JsonValue


class FleetSpec(BaseModel):
    """What a fleet was created with: where, how many nodes, what it costs, when it is idle."""

    model_config = ConfigDict(extra="ignore")

    cloud: str | None = None  # the cloud of its stack; None for a fleet without one
    region: str | None = None
    instance_type: str | None = None
    nodes: int = 0
    max_nodes: int | None = None  # an elastic fleet's upper bound (None: no limit or fixed)
    min_nodes: int = 0  # nodes.min: idle release never takes the fleet below it
    spot: bool = False
    price: float | None = None  # per node per hour, USD
    idle_duration: int | None = None  # seconds; None: never released for being idle
    resources: str = ""  # one line, as `dstack fleet` shows it
    # What the fleet was applied from (engine/fleets/update.py compares a file with these):
    # its configuration's fields (env values left out), their digest, and its stack's spec.
    configuration: dict[str, JsonValue] | None = None
    config_digest: str | None = None
    stack_spec: dict[str, JsonValue] | None = None
    run_id: str | None = None  # the run this fleet was created for (None: declared)

    @classmethod
    def of(cls, stored: dict[str, JsonValue] | None) -> FleetSpec:
        """The FleetSpec of a fleet row's spec column (defaults for a row without)."""
        return cls.model_validate(stored or {})
