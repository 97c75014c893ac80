"""The plan document (`--json`, `--out`): docs/plan.schema.json, version PLAN_SCHEMA_VERSION.
Each configuration is its Plan's to_json() (engine/models/plan.py), or its error."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata

from ...engine.models.json import JSONValue
from ...engine.services.plans import PLAN_SCHEMA_VERSION, PlanOutcome
from .plan_text import counts_of, total_counts


def plan_document(outcomes: Sequence[PlanOutcome]) -> dict[str, JSONValue]:
    """The whole plan: every configuration and the totals."""
    configurations: list[JSONValue] = []
    for outcome in outcomes:
        if outcome.plan is None:
            configurations.append(_error_item(outcome))
            continue
        item = outcome.plan.to_json()
        item["counts"] = dict(counts_of(outcome.plan))
        configurations.append(item)
    errors = sum(1 for o in outcomes if o.plan is None)
    changed = sum(1 for o in outcomes if o.plan is not None and o.plan.has_changes)
    return {
        "schema_version": PLAN_SCHEMA_VERSION,
        "fleetstack_version": metadata.version("fleetstack"),
        "configurations": configurations,
        "summary": {
            "configurations": len(outcomes),
            "with_changes": changed,
            "errors": errors,
            "changes": changed > 0,
            "counts": dict(total_counts(outcomes)),
        },
    }


def _error_item(outcome: PlanOutcome) -> dict[str, JSONValue]:
    return {
        "configuration_path": outcome.path,
        "type": None,
        "name": None,
        "error": outcome.error,
        "action": None,
        "changes": False,
        "counts": {"create": 0, "update": 0, "replace": 0, "delete": 0},
    }
