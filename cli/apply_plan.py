"""The plan step of `dstack apply`: plan (service), render, confirm; then execute the plan
(service) and render what it did; an attached run is followed by cli/apply_run.py."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.errors import FleetstackError
from ..engine.fleets.failover import Attempt
from ..engine.models.plan import Plan, ResourcePlan
from ..engine.services.apply import ensure_applicable, execute_plan, plan_apply
from ..engine.services.fleets import FleetApplied
from ..engine.services.plan import OverrideValue
from ..engine.services.plans import read_saved_plan, replan_saved
from ..engine.services.runs import check_free, run_forwards
from .apply_run import submit_and_attach
from .server import need_server
from .views.confirm import confirm
from .views.output import console as make_console
from .views.plan_text import render_fleet_change, render_port_forwards
from .views.tables import nodes_text, render_plan, render_stack_plan

if TYPE_CHECKING:
    from rich.console import Console

    from ..engine.remote.ports import PortForward


def plan_and_confirm(
    file: str,
    run_args: list[str],
    overrides: Mapping[str, OverrideValue],
    *,
    yes: bool,
    dry_run: bool,
    detach: bool,
    max_offers: int,
    profile: str | None,
    profiles: bool = True,
    env: Mapping[str, str] | None = None,
    text: str | None = None,
    ports: list[str] | None = None,
    force: bool = False,
) -> None:
    plan = plan_apply(file, run_args=run_args, overrides=overrides, profile=profile,
                      dry_run=dry_run, profiles=profiles, env=env, text=text)  # fmt: skip
    console = make_console()
    render_plan(plan, console, max_offers=max_offers)
    render_fleet_change(plan, console)
    render_stack_plan(plan, console)
    forwards = render_port_forwards(plan, console, ports or [])
    if dry_run:
        return
    execute_confirmed(plan, console, yes=yes, force=force, detach=detach, forwards=forwards)


def apply_saved_plan(source: str, *, yes: bool, force: bool, detach: bool) -> None:
    """`dstack apply --plan FILE`: each configuration of the saved plan planned again and
    applied when nothing it was computed from changed (else refused, naming what; --force)."""
    try:
        document = json.loads(Path(source).read_text())
    except (OSError, ValueError) as exc:
        raise FleetstackError(f"{source}: cannot read the saved plan ({exc})") from None
    plans = replan_saved(read_saved_plan(document, source), force=force, source=source)
    console = make_console()
    for plan in plans:
        console.print(f"Applying the saved plan of {plan.configuration_path} ({plan.action})")
        render_fleet_change(plan, console)
        render_stack_plan(plan, console)
        forwards = run_forwards(plan.configuration, [])
        execute_confirmed(plan, console, yes=yes, force=force, detach=detach, forwards=forwards)


def execute_confirmed(
    plan: Plan,
    console: Console,
    *,
    yes: bool,
    force: bool,
    detach: bool,
    forwards: Sequence[PortForward] = (),
) -> None:
    """Confirm (unless `yes`) and execute the plan (a run's ports forwarded as `forwards`
    while attached); a fleet with no changes is left alone and
    a fleet re-creation needs --force when nobody is asked."""
    change = plan.fleet_change
    if change is not None and change.action == "none":
        console.print(f"Fleet {plan.run_name}: no changes; nothing was done.")
        return
    ensure_applicable(plan)
    if not detach:
        check_free(forwards)
    if change is not None and change.action == "recreate" and not force:
        if yes:
            raise FleetstackError(
                f"{plan.configuration_path}: fleet {plan.run_name} must be re-created for "
                f"{', '.join(f.field for f in change.fields)} (its instances are destroyed): "
                "-y does not re-create a fleet; add --force to re-create it"
            )
        _confirm(plan, console)
    elif not yes and not force:
        _confirm(plan, console)
    # The server starts once the plan is applied for real (a refused or declined apply
    # leaves no process), while the run is submitted; it is named once applied.
    started = need_server(quiet=True)
    progress = _Progress(console)
    result = execute_plan(plan, run_args=plan.run_args, progress=progress)
    if started:
        print(started, file=sys.stderr, flush=True)
    if isinstance(result, FleetApplied):
        _show_fleet(plan, result, console)
        return
    code = submit_and_attach(result.run, detach=detach, console=console, forwards=forwards)
    if code:
        raise SystemExit(code)


class _Progress:
    """Shows a fleet's provisioning: the stack's name, then Pulumi's lines as they come."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def provisioning(self, rp: ResourcePlan) -> None:
        if rp.source != "preview":
            # The plan shown was offline; the stack's real diff is what `up` will apply.
            self.console.print("[yellow]The resource plan above compared no state.[/yellow]")
        self.console.print(
            f"Provisioning fleet {rp.spec.fleet} (stack fleetstack/{rp.spec.stack_name})..."
        )

    def stack_output(self, line: str) -> None:
        self.console.print(line.rstrip("\n"), markup=False, highlight=False)

    def attempt(self, attempt: Attempt, of: int) -> None:
        offer = attempt.offer
        where = (
            f"{offer.backend} {offer.region} {offer.instance_type}{' spot' if offer.spot else ''}"
        )
        if attempt.error is None:
            if attempt.number > 1:
                self.console.print(f"Attempt {attempt.number}/{of} on {where} worked.")
            return
        from rich.markup import escape

        self.console.print(
            f"[yellow]Attempt {attempt.number}/{of} on {escape(where)}: no capacity[/yellow] "
            f"({escape(attempt.error)})",
            highlight=False,
        )
        if attempt.number < of:
            self.console.print("Its stack was destroyed; trying the next offer.")


def _confirm(plan: Plan, console: Console) -> None:
    named = plan.configuration.name
    action = plan.fleet_change.action if plan.fleet_change else "create"
    if plan.is_fleet and action == "update":
        what = f"Update the fleet {plan.run_name} in place"
    elif plan.is_fleet and action == "recreate":
        what = f"Re-create the fleet {plan.run_name} (its instances are destroyed)"
    elif plan.is_fleet:
        what = f"Create the fleet {plan.run_name}"
    else:  # a run without a name gets a generated one when it is submitted, as in dstack
        what = f"Submit the run {named}" if named else "Submit a new run"
    if not confirm(f"{what}?", yes=False):
        console.print("Nothing was created." if plan.is_fleet else "Run not submitted.")
        raise SystemExit(1)


def _show_fleet(plan: Plan, applied: FleetApplied, console: Console) -> None:
    fleet = applied.fleet
    if plan.is_empty_fleet and plan.resource_plan is None:
        console.print(
            f"Fleet {fleet.name} is {fleet.status.value} with no instance ({nodes_text(plan)})."
        )
        return
    for failure in applied.failures:
        console.print(f"[red]not joined[/red] {failure}", highlight=False)
    for instance in applied.instances:
        console.print(
            f"  {fleet.name}-{instance.instance_num}  {instance.instance_type}  "
            f"{instance.hostname or '-'}  ssh user {instance.ssh_user or '-'}"
        )
    console.print(f"Fleet {fleet.name} is {fleet.status.value}. `dstack fleet` lists it.")
