"""The plans of `dstack plan` / `apply --dry-run` for a person: per configuration its plan
tables (views/tables.py), how a fleet file compares with its live fleet, then the totals."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...engine.models.json import JSONValue
from ...engine.models.plan import Plan
from ...engine.services.plans import PlanOutcome
from .tables import render_plan, render_stack_plan

if TYPE_CHECKING:
    from rich.console import Console

    from ...engine.remote.ports import PortForward

OPS = ("create", "update", "replace", "delete")


def render_outcomes(outcomes: Sequence[PlanOutcome], console: Console, *, max_offers: int) -> None:
    """Every configuration's plan (or its error), then one total line when there are many."""
    from rich.markup import escape

    for n, outcome in enumerate(outcomes):
        if len(outcomes) > 1:
            console.print(f"{'' if n == 0 else chr(10)}[bold]── {outcome.path}[/bold]")
        if outcome.plan is None:
            console.print(f"[red]{escape(outcome.error or '')}[/red]", highlight=False)
            continue
        render_plan(outcome.plan, console, max_offers=max_offers)
        render_fleet_change(outcome.plan, console)
        render_stack_plan(outcome.plan, console)
        render_port_forwards(outcome.plan, console)
    if len(outcomes) > 1:
        console.print(f"\n[bold]Total[/bold]: {total_line(outcomes)}")


def render_port_forwards(
    plan: Plan, console: Console, ports: Sequence[str] = ()
) -> list[PortForward]:
    """`Port (while attached): http://127.0.0.1:L -> port C of the job` per forwarded port
    (`ports`: -p LOCAL:REMOTE remaps); the forwards."""
    from ...engine.services.runs import run_forwards

    forwards = run_forwards(plan.configuration, list(ports))
    for forward in forwards:
        console.print(f"Port (while attached): {forward.describe()}", highlight=False)
    return forwards


def render_fleet_change(plan: Plan, console: Console) -> None:
    """`Fleet NAME: no changes`, its in-place update (fields old -> new) or its re-creation."""
    change = plan.fleet_change
    if change is None:
        return
    name = plan.run_name
    if change.action == "none":
        console.print(f"\nFleet {name}: no changes (the file is what was applied).")
        return
    if change.action == "create":
        console.print(f"\nFleet {name} does not exist yet: it is created.")
        return
    if change.action == "update":
        console.print(f"\nFleet {name} exists: its stack is updated in place:")
    else:
        console.print(
            f"\n[yellow]Fleet {name} exists and these changes cannot be applied in place: it "
            "must be re-created (its stack destroyed, then created again):[/yellow]"
        )
    for field in change.fields:
        console.print(f"  {field.field}: {_value(field.old)} -> {_value(field.new)}",
                      markup=False, highlight=False)  # fmt: skip


def counts_of(plan: Plan) -> dict[str, int]:
    """Resources to create/update/replace/delete by the plan's stack (zeros without one)."""
    rp = plan.resource_plan
    counts = rp.diff.counts if rp is not None else {}
    return {op: counts.get(op, 0) for op in OPS}


def counts_line(counts: dict[str, int]) -> str:
    """`2 to create, 0 to update, 1 to replace, 0 to delete`."""
    return ", ".join(f"{counts[op]} to {op}" for op in OPS)


def total_counts(outcomes: Sequence[PlanOutcome]) -> dict[str, int]:
    total = dict.fromkeys(OPS, 0)
    for outcome in outcomes:
        if outcome.plan is not None:
            for op, count in counts_of(outcome.plan).items():
                total[op] += count
    return total


def total_line(outcomes: Sequence[PlanOutcome]) -> str:
    """`3 configurations (1 with changes, 1 error): 2 to create, ...`."""
    changed = sum(1 for o in outcomes if o.plan is not None and o.plan.has_changes)
    errors = sum(1 for o in outcomes if o.plan is None)
    text = (
        f"{len(outcomes)} configuration{'s' if len(outcomes) != 1 else ''} ({changed} with changes"
    )
    text += f", {errors} error{'s' if errors != 1 else ''})" if errors else ")"
    return f"{text}: {counts_line(total_counts(outcomes))}"


def _value(value: JSONValue) -> str:
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
