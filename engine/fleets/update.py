"""Fleets as code: a fleet file compared with the live fleet of its name, and the stack plan
that turns one into the other.

The live fleet's `fleets.spec` (FleetSpec) records the configuration fields it was applied
from, their digest and its stack's spec. A file whose fields have the same digest changes
nothing; one that changes only IN_PLACE_FIELDS is a stack update (`up` again with the new
spec: scaling `nodes` adds or removes instances, the others keep theirs); any other change
(placement, blocks, ssh_config, idle_duration...) re-creates the fleet. Reading here never
writes: a dry run opens the SQLite file read-only and creates no file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ...stacks.diff import StackDiff, compare, recreated
from ...stacks.engine import StackEngine
from ...stacks.offline import offline_plan
from ...stacks.spec import StackSpec, stack_spec_from_json
from ..backends.config import BackendsConfig
from ..config import FleetConfiguration
from ..models.fleets import FleetSpec
from ..models.json import JSONObject, JSONValue, json_object
from ..models.offers import Offer
from ..models.plan import FieldChange, FleetChange, Plan, ResourcePlan
from ..models.statuses import FleetStatus
from ..state.fastread import read_one, sqlite_file
from .stacks import (
    DEFAULT_PROJECT,
    engine_ready,
    resource_plan,
    stack_engine_for,
    stack_spec_for,
)
from .stacks import public_key as project_public_key

# dstack updates these in place; the stack takes them as an update of its resources.
IN_PLACE_FIELDS = frozenset(
    {"nodes", "resources", "backends", "regions", "instance_types", "spot_policy", "max_price",
     "tags"}
)  # fmt: skip
_IDENTITY = ("name", "type")  # what names the fleet is not one of its fields


@dataclass(frozen=True)
class LiveFleet:
    """The live fleet a file names, as recorded: its status, spec and stack outputs."""

    status: str
    spec: FleetSpec
    stack_name: str | None
    stack_outputs: JSONValue

    @property
    def version(self) -> str:
        """A digest of what is recorded of the fleet and its stack (saved plans compare it)."""
        document: JSONObject = {"status": self.status, "spec": self.spec.model_dump(mode="json"),
                    "outputs": self.stack_outputs}  # fmt: skip
        return _digest(document)


def fleet_fields(configuration: FleetConfiguration) -> JSONObject:
    """The fields a fleet file declares, normalised; env values left out (names only)."""
    fields: JSONObject = configuration.model_dump(mode="json")
    for key in _IDENTITY:
        fields.pop(key, None)
    env = configuration.env or {}
    fields["env"] = [*sorted(env)]
    return fields


def config_digest(fields: JSONObject) -> str:
    return _digest(fields)


def applied_from(configuration: FleetConfiguration, spec: StackSpec | None) -> JSONObject:
    """The FleetSpec keys that record what a fleet was applied from."""
    fields = fleet_fields(configuration)
    stack: JSONValue = json_object(asdict(spec)) if spec is not None else None
    return {"configuration": fields, "config_digest": config_digest(fields), "stack_spec": stack}


def live_fleet(name: str, project: str = DEFAULT_PROJECT) -> LiveFleet | None:
    """The live (not finished) fleet called `name`, read without writing anything."""
    from ..state import database_url  # the names of engine.state load SQLAlchemy lazily

    url = database_url()
    path = sqlite_file(url)
    if path is not None:
        return _sqlite_live_fleet(path, name, project)
    from ..state import get_fleet_by_name, open_state

    fleet = get_fleet_by_name(open_state(url), name, project)
    if fleet is None or fleet.status.is_finished:
        return None
    return LiveFleet(fleet.status.value, FleetSpec.of(fleet.spec), fleet.stack_name,
                     fleet.stack_outputs)  # fmt: skip


def detect_change(live: LiveFleet | None, configuration: FleetConfiguration) -> FleetChange:
    """How `configuration` compares with `live` (None: there is no live fleet)."""
    if live is None:
        return FleetChange("create")
    new = fleet_fields(configuration)
    old = live.spec.configuration
    if old is None:  # recorded before fleets were compared: apply it again, in place
        return FleetChange("update", [FieldChange("configuration", None, "as in the file")],
                           live.stack_name)  # fmt: skip
    if live.spec.config_digest == config_digest(new):
        return FleetChange("none", [], live.stack_name)
    changed = [
        FieldChange(key, old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]
    if not changed:
        return FleetChange("none", [], live.stack_name)
    in_place = all(c.field in IN_PLACE_FIELDS for c in changed)
    return FleetChange("update" if in_place else "recreate", changed, live.stack_name)


def plan_fleet(
    plan: Plan, *, offline: bool, config: BackendsConfig | None, live: LiveFleet | None
) -> None:
    """Set the plan's fleet_change and resource_plan (None when nothing changes)."""
    configuration = plan.configuration
    assert isinstance(configuration, FleetConfiguration)
    change = detect_change(live, configuration)
    plan.fleet_change = change
    if change.action == "none" or not plan.offers.offers or plan.is_empty_fleet:
        return
    if change.action == "create" or live is None:
        plan.resource_plan = resource_plan(plan, offline=offline, config=config)
        return
    old_spec = recorded_stack_spec(live.spec)
    if change.action == "update":
        kept = _recorded_offer(plan.offers.offers, live.spec)
        if kept is not None:  # scaling keeps the instances it has: same type, same place
            plan.chosen_offer = kept
    offer = plan.chosen_offer
    if offer is None:
        return
    key = old_spec.ssh_public_key if old_spec else project_public_key(create=not offline)
    spec = stack_spec_for(plan, offer, ssh_public_key=key, config=config)
    old = offline_plan(old_spec) if old_spec is not None else StackDiff([], False)
    if change.action == "recreate":
        diff = recreated(old, offline_plan(spec))
        plan.resource_plan = ResourcePlan(offer, spec, diff, "offline", "the fleet is re-created")
        return
    engine = stack_engine_for(offer.backend, config)
    if old_spec is not None and engine_ready(engine) and _stack_exists(engine, spec, offline):
        plan.resource_plan = ResourcePlan(offer, spec, engine.preview(spec), "preview", None)
        return
    reason = "compared with the stack spec fleetstack recorded"
    plan.resource_plan = ResourcePlan(offer, spec, compare(old, offline_plan(spec)), "offline",
                                      reason)  # fmt: skip


def _stack_exists(engine: StackEngine, spec: StackSpec, offline: bool) -> bool:
    """Whether a preview may run: always for an apply; for a dry run only when the stack is
    in the state backend, since a preview of a missing stack would create it (reading the
    state needs the backend's credentials: a StackError says which)."""
    if not offline:
        return True
    return engine.outputs(spec.project, spec.fleet, spec.cloud) is not None


def recorded_stack_spec(spec: FleetSpec) -> StackSpec | None:
    """The StackSpec the fleet's stack was last brought up with (None: not recorded)."""
    stored = spec.stack_spec
    if not isinstance(stored, dict):
        return None
    return stack_spec_from_json(dict(stored))


def _recorded_offer(offers: Sequence[Offer], spec: FleetSpec) -> Offer | None:
    for offer in offers:
        if (offer.backend, offer.region, offer.instance_type, offer.spot) == (
            spec.cloud,
            spec.region,
            spec.instance_type,
            spec.spot,
        ):
            return offer
    return None


def _sqlite_live_fleet(path: Path, name: str, project: str) -> LiveFleet | None:
    if not path.is_file():  # no state yet: nothing to compare with, and nothing is created
        return None
    row = read_one(
        path,
        "SELECT status, spec, stack_name, stack_outputs FROM fleets "
        "WHERE project = ? AND name = ? AND deleted = 0",
        (project, name),
        leave_no_file=True,
    )
    if row is None or FleetStatus(str(row[0])).is_finished:
        return None
    spec = FleetSpec.of(json.loads(str(row[1])) if row[1] else None)
    outputs = json.loads(str(row[3])) if row[3] else None
    return LiveFleet(str(row[0]), spec, str(row[2]) if row[2] else None, outputs)


def _digest(document: JSONValue) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
