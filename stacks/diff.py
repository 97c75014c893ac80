"""A typed stack diff: what a preview (or an offline plan) says will change, per resource."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Op = Literal["create", "update", "replace", "delete", "same"]

SYMBOLS: dict[str, str] = {
    "create": "+",
    "update": "~",
    "replace": "+-",
    "delete": "-",
    "same": " ",
}
_ORDER: tuple[Op, ...] = ("create", "update", "replace", "delete", "same")
# Pulumi ops that map onto ours; read/refresh/discard ops are not changes a user approves.
_OP_MAP: dict[str, Op | None] = {
    "create": "create",
    "update": "update",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": None,
    "delete": "delete",
    "same": "same",
}


@dataclass(frozen=True)
class ResourceChange:
    op: Op
    type: str
    name: str
    changed: list[str] = field(default_factory=list)
    # Declared inputs, flattened to dotted keys (stacks/inputs.py flatten_inputs), user-data
    # decoded; `old_inputs` are the recorded ones for an update (None: nothing recorded).
    inputs: dict[str, str] = field(default_factory=dict)
    old_inputs: dict[str, str] | None = None


@dataclass
class StackDiff:
    changes: list[ResourceChange]
    state_compared: bool

    @property
    def counts(self) -> dict[str, int]:
        """Number of resources per op, every op present (zero when absent)."""
        counter = Counter(change.op for change in self.changes)
        return {op: counter[op] for op in _ORDER}

    @property
    def has_changes(self) -> bool:
        return any(change.op != "same" for change in self.changes)

    def summary(self) -> str:
        """One line: `+ 5 to create, ~ 1 to update` (and `no state compared` for offline plans)."""
        counts = self.counts
        parts = [f"{SYMBOLS[op]} {counts[op]} to {op}" for op in _ORDER[:4] if counts[op]]
        if counts["same"]:
            parts.append(f"{counts['same']} unchanged")
        text = ", ".join(parts) or "no changes"
        return text if self.state_compared else f"{text} (no state compared)"


def diff_from_events(events: Iterable[object], *, state_compared: bool = True) -> StackDiff:
    """Build a StackDiff from engine events (Pulumi EngineEvent or look-alikes).

    Reads `event.resource_pre_event.metadata` (op, type, urn, diffs, keys); other events are
    ignored. The stack resource itself and provider resources are left out.
    """
    changes: dict[str, ResourceChange] = {}
    for event in events:
        pre = getattr(event, "resource_pre_event", None)
        metadata = getattr(pre, "metadata", None) if pre is not None else None
        if metadata is None:
            continue
        op = _OP_MAP.get(_op_value(getattr(metadata, "op", None)))
        rtype = str(getattr(metadata, "type", ""))
        if op is None or rtype == "pulumi:pulumi:Stack" or rtype.startswith("pulumi:providers:"):
            continue
        urn = str(getattr(metadata, "urn", ""))
        changed = list(getattr(metadata, "diffs", None) or getattr(metadata, "keys", None) or [])
        if op in ("create", "delete", "same"):
            changed = [] if op == "same" else changed
        changes[urn] = ResourceChange(op=op, type=rtype, name=_name_from_urn(urn), changed=changed)
    return StackDiff(changes=list(changes.values()), state_compared=state_compared)


def compare(old: StackDiff, new: StackDiff) -> StackDiff:
    """What turns the resources of `old` (a recorded spec's offline plan) into those of `new`:
    per resource (type and name) create, delete, update (inputs differ: `changed` lists
    `key: old -> new`) or same. Offline: which updates a provider replaces is not known."""
    before = {(c.type, c.name): c for c in old.changes}
    after = {(c.type, c.name): c for c in new.changes}
    changes = []
    for key, change in after.items():
        was = before.get(key)
        if was is None:
            changes.append(change)
            continue
        changed = [
            f"{k}: {was.inputs.get(k, '-')} -> {change.inputs.get(k, '-')}"
            for k in sorted(set(was.inputs) | set(change.inputs))
            if was.inputs.get(k) != change.inputs.get(k)
        ]
        op: Op = "update" if changed else "same"
        changes.append(
            ResourceChange(op, change.type, change.name, changed, change.inputs, was.inputs)
        )
    for key, change in before.items():
        if key not in after:
            changes.append(
                ResourceChange("delete", change.type, change.name, [], {}, change.inputs)
            )
    return StackDiff(changes=changes, state_compared=False)


def recreated(old: StackDiff, new: StackDiff) -> StackDiff:
    """The plan of destroying every resource of `old`, then creating those of `new`."""
    gone = [ResourceChange("delete", c.type, c.name, [], {}, c.inputs) for c in old.changes]
    return StackDiff(changes=[*gone, *new.changes], state_compared=False)


def diff_rows(diff: StackDiff) -> list[tuple[str, str, str, str, str]]:
    """Rows for a table: (symbol, op, type, name, changed properties comma-joined)."""
    rank = {op: i for i, op in enumerate(_ORDER)}
    ordered = sorted(diff.changes, key=lambda c: (rank[c.op], c.type, c.name))
    return [(SYMBOLS[c.op], c.op, c.type, c.name, ", ".join(c.changed)) for c in ordered]


def _op_value(op: object) -> str:
    return str(getattr(op, "value", op) or "")


def _name_from_urn(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if "::" in urn else urn
