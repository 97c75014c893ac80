"""The plan of a run or fleet: what was asked, the offers, the offer apply takes, what its
stack would change and why other offers were passed over. Apply executes exactly this."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import JsonValue

from ..config import AnyConfiguration, FleetConfiguration
from .json import JSONValue
from .offers import Offer, OfferList, Requirements

if TYPE_CHECKING:
    from ...stacks.diff import StackDiff
    from ...stacks.spec import StackSpec


# A CLI flag's value (None = flag not given): backends/regions/instance types, a name, a spot
# policy, a duration, a max price, retry on/off, env or resources (merged into the file's).
OverrideValue = list[str] | str | float | bool | dict[str, str] | None


@dataclass(frozen=True)
class PassedOver:
    """A backend whose offers the plan did not take, and why (one line)."""

    backend: str
    reason: str


@dataclass(frozen=True)
class FieldChange:
    """One field of a fleet's configuration, as recorded (old) and as the file says (new)."""

    field: str
    old: JSONValue
    new: JSONValue


# create: no live fleet of this name; none: the file is what was applied; update: only fields
# the stack takes in place changed (`up` again); recreate: destroy the fleet, then create it.
FleetAction = Literal["create", "none", "update", "recreate"]


@dataclass(frozen=True)
class FleetChange:
    """How a fleet file compares with the live fleet of its name (engine/fleets/update.py)."""

    action: FleetAction
    fields: list[FieldChange] = field(default_factory=list)
    stack_name: str | None = None  # the live fleet's stack, if it has one


@dataclass(frozen=True)
class PlanBasis:
    """What a plan was computed from; a saved plan is refused when any of it moved."""

    configuration_digest: str
    offer: str  # backend/region/instance_type/spot/price of the chosen offer, or "-"
    stack_version: str  # digest of the live fleet's record and outputs, "absent", or "-"
    state_source: str  # "preview" (compared with the stack's state) or "offline"
    catalog: str  # the catalog's label, e.g. "embedded catalog 2026-11-01"


@dataclass
class ResourcePlan:
    """What the fleet's stack would change for the plan's chosen offer."""

    offer: Offer
    spec: StackSpec
    diff: StackDiff
    source: str  # "preview" (compared with the stack's state) or "offline"
    reason: str | None = None  # why the plan is offline


@dataclass
class Plan:
    configuration_path: str
    configuration: AnyConfiguration
    requirements: Requirements
    offers: OfferList
    run_name: str
    properties: list[tuple[str, str]] = field(default_factory=list)
    chosen_offer: Offer | None = None  # decided when the plan is built; apply takes it
    runs_here: bool = False  # the chosen offer is this machine (no stack)
    passed_over: list[PassedOver] = field(default_factory=list)
    resource_plan: ResourcePlan | None = None  # the stack diff, for a plan that has a stack
    fleet_change: FleetChange | None = None  # a fleet file compared with its live fleet
    basis: PlanBasis | None = None  # set by the plan service
    overrides: dict[str, OverrideValue] = field(default_factory=dict)  # CLI flags, env left out
    run_args: list[str] = field(default_factory=list)
    # env names whose values are secret (the configuration holds their digests), and the
    # values of a plan made to submit: kept in memory only, never in to_json or a view
    secret_env: list[str] = field(default_factory=list)
    secret_values: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def has_changes(self) -> bool:
        """Whether applying the plan would change anything (a run is always a change)."""
        if not self.is_fleet:
            return bool(self.offers.offers)
        return self.fleet_change is None or self.fleet_change.action != "none"

    @property
    def is_fleet(self) -> bool:
        return isinstance(self.configuration, FleetConfiguration)

    @property
    def is_empty_fleet(self) -> bool:
        """A fleet such as `nodes: 0..2`: it owns no instance until a run needs one."""
        return isinstance(self.configuration, FleetConfiguration) and (
            self.configuration.node_count == 0
        )

    @property
    def max_price(self) -> float | None:
        """The price of the dearest offer for the whole run (offers are sorted by price)."""
        offers = self.offers.offers
        return offers[-1].price * self.requirements.nodes if offers else None

    def to_json(self, *, next_offers: int = 3) -> dict[str, JsonValue]:
        """The plan of one configuration as docs/plan.schema.json's `configuration` item:
        what was asked, the chosen offer and the next ones, the fleet's field changes, every
        resource of the stack plan with its declared inputs, and the plan's basis."""
        nodes = self.requirements.nodes
        chosen = self.chosen_offer
        others = [o for o in self.offers.offers if o is not chosen][:next_offers]
        change = self.fleet_change
        req = self.requirements
        basis = self.basis
        return {
            "configuration_path": self.configuration_path,
            "type": self.configuration.type,
            "name": self.run_name,
            "error": None,
            "action": self.action,
            "changes": self.has_changes,
            "field_changes": [
                {"field": c.field, "old": c.old, "new": c.new}
                for c in (change.fields if change else [])
            ],
            "requirements": {
                "resources": req.resources.pretty(),
                "backends": list(req.backends) if req.backends else None,
                "regions": list(req.regions) if req.regions else None,
                "instance_types": list(req.instance_types) if req.instance_types else None,
                "spot_policy": req.spot_policy,
                "max_price": req.max_price,
                "nodes": nodes,
            },
            "properties": {key: value for key, value in self.properties},
            "chosen_offer": chosen.to_json(nodes) if chosen else None,
            "next_offers": [offer.to_json(nodes) for offer in others],
            "total_offers": self.offers.total,
            "empty_reason": self.offers.empty_reason,
            "runs_here": self.runs_here,
            "passed_over": [{"backend": p.backend, "reason": p.reason} for p in self.passed_over],
            "resource_plan": None if self.resource_plan is None else _resource_plan_json(
                self.resource_plan
            ),
            "basis": None if basis is None else {
                "configuration_digest": basis.configuration_digest,
                "offer": basis.offer,
                "stack_version": basis.stack_version,
                "state_source": basis.state_source,
                "catalog": basis.catalog,
            },
            "overrides": {k: _json_override(v) for k, v in self.overrides.items()},
            "run_args": list(self.run_args),
        }  # fmt: skip

    @property
    def action(self) -> str:
        """What applying does: a fleet's create/none/update/recreate, or `submit` for a run."""
        if not self.is_fleet:
            return "submit"
        return self.fleet_change.action if self.fleet_change else "create"


def _json_override(value: OverrideValue) -> JSONValue:
    if isinstance(value, list):
        return [*value]
    if isinstance(value, dict):
        return {**value}
    return value


def _resource_plan_json(rp: ResourcePlan) -> dict[str, JsonValue]:
    counts = rp.diff.counts
    return {
        "stack": rp.spec.stack_name,
        "source": rp.source,
        "state_compared": rp.diff.state_compared,
        "reason": rp.reason,
        "summary": rp.diff.summary(),
        "counts": {op: counts[op] for op in counts},
        "resources": [
            {
                "op": c.op,
                "type": c.type,
                "name": c.name,
                "changed": list(c.changed),
                "inputs": dict(c.inputs),
                "old_inputs": dict(c.old_inputs) if c.old_inputs is not None else None,
            }
            for c in rp.diff.changes
        ],
    }
