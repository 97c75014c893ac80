"""The JSON Schema of the plan document (`dstack plan --json`, `--out`), version 1.

Published by `dstack schema --plan` and committed as docs/plan.schema.json (a test keeps the
two equal and validates real plans against it). A change that removes or retypes a field is
a new schema_version; adding an optional field is not.
"""

from __future__ import annotations

from .json import JSONObject

_STR: JSONObject = {"type": "string"}
_NULL_STR: JSONObject = {"type": ["string", "null"]}
_COUNTS: JSONObject = {
    "type": "object",
    "description": "Resources per operation",
    "required": ["create", "update", "replace", "delete"],
    "properties": {op: {"type": "integer", "minimum": 0} for op in
                   ("create", "update", "replace", "delete", "same")},
}  # fmt: skip
_OFFER: JSONObject = {
    "type": "object",
    "required": ["backend", "region", "instance", "resources", "spot", "price"],
    "properties": {
        "backend": _STR,
        "region": _STR,
        "instance": _STR,
        "resources": {"type": "object"},
        "spot": {"type": "boolean"},
        "price": {"type": "number", "description": "USD per hour for every node"},
        "node_price": {"type": "number"},
        "backend_configured": {"type": "boolean"},
    },
}
_INPUTS: JSONObject = {
    "type": "object",
    "description": "Declared inputs, dotted keys; user-data decoded from base64/gzip",
    "additionalProperties": _STR,
}
_RESOURCE: JSONObject = {
    "type": "object",
    "required": ["op", "type", "name", "changed", "inputs", "old_inputs"],
    "properties": {
        "op": {"enum": ["create", "update", "replace", "delete", "same"]},
        "type": {**_STR, "description": "The Pulumi type token of the resource"},
        "name": _STR,
        "changed": {"type": "array", "items": _STR, "description": "key: old -> new"},
        "inputs": _INPUTS,
        "old_inputs": {"oneOf": [_INPUTS, {"type": "null"}]},
    },
}
_RESOURCE_PLAN: JSONObject = {
    "type": "object",
    "required": ["stack", "source", "state_compared", "summary", "counts", "resources"],
    "properties": {
        "stack": _STR,
        "source": {"enum": ["preview", "offline"]},
        "state_compared": {"type": "boolean"},
        "reason": _NULL_STR,
        "summary": _STR,
        "counts": _COUNTS,
        "resources": {"type": "array", "items": _RESOURCE},
    },
}
_BASIS: JSONObject = {
    "type": "object",
    "description": "What the plan was computed from: `dstack apply --plan` refuses it when "
    "the configuration, the offer or the stack moved",
    "required": ["configuration_digest", "offer", "stack_version", "state_source", "catalog"],
    "properties": {
        k: _STR
        for k in ("configuration_digest", "offer", "stack_version", "state_source", "catalog")
    },
}
_CONFIGURATION: JSONObject = {
    "type": "object",
    "required": ["configuration_path", "type", "name", "error", "action", "changes", "counts"],
    "properties": {
        "configuration_path": _STR,
        "type": {"enum": ["task", "service", "dev-environment", "fleet", None]},
        "name": _NULL_STR,
        "error": {**_NULL_STR, "description": "Why this configuration has no plan"},
        "action": {"enum": ["create", "none", "update", "recreate", "submit", None]},
        "changes": {"type": "boolean"},
        "counts": _COUNTS,
        "field_changes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "old", "new"],
                "properties": {"field": _STR, "old": {}, "new": {}},
            },
        },
        "requirements": {"type": "object"},
        "properties": {"type": "object", "additionalProperties": _STR},
        "chosen_offer": {"oneOf": [_OFFER, {"type": "null"}]},
        "next_offers": {"type": "array", "items": _OFFER},
        "total_offers": {"type": "integer"},
        "empty_reason": _NULL_STR,
        "runs_here": {"type": "boolean"},
        "passed_over": {"type": "array", "items": {"type": "object"}},
        "resource_plan": {"oneOf": [_RESOURCE_PLAN, {"type": "null"}]},
        "basis": {"oneOf": [_BASIS, {"type": "null"}]},
        "overrides": {"type": "object"},
        "run_args": {"type": "array", "items": _STR},
    },
}
PLAN_SCHEMA: JSONObject = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/fleetstack/fleetstack/docs/plan.schema.json",
    "title": "fleetstack plan",
    "description": "The plan of one or more configurations (dstack plan --json / --out). "
    "Secrets are masked as ***.",
    "type": "object",
    "required": ["schema_version", "fleetstack_version", "configurations", "summary"],
    "properties": {
        "schema_version": {"const": 1},
        "fleetstack_version": _STR,
        "configurations": {"type": "array", "items": _CONFIGURATION},
        "summary": {
            "type": "object",
            "required": ["configurations", "with_changes", "errors", "changes", "counts"],
            "properties": {
                "configurations": {"type": "integer"},
                "with_changes": {"type": "integer"},
                "errors": {"type": "integer"},
                "changes": {"type": "boolean"},
                "counts": _COUNTS,
            },
        },
    },
}
