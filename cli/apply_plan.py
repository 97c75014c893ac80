"""The plan step of `dstack apply`: build, render, confirm; then submit (cli/apply_run.py)."""

from __future__ import annotations

import sys
from typing import Any


def plan_and_confirm(
    file: str,
    run_args: list[str],
    overrides: dict[str, Any],
    *,
    yes: bool,
    dry_run: bool,
    detach: bool,
    max_offers: int,
    profile: str | None,
) -> None:
    from ..engine.config import load_configuration
    from ..engine.errors import FleetstackError
    from ..engine.services.plan import build_plan
    from .views.output import console as make_console
    from .views.tables import render_plan

    loaded = load_configuration(file, run_args=run_args, profile=profile)
    plan = build_plan(loaded, overrides)
    console = make_console()
    render_plan(plan, console, max_offers=max_offers)
    from .apply_stack import apply_fleet_plan, show_resource_plan

    rp = show_resource_plan(plan, console, dry_run=dry_run) if plan.offers.offers else None
    if dry_run:
        return
    if not plan.offers.offers:
        raise FleetstackError(f"nothing to submit: {plan.offers.empty_reason}")
    is_fleet = getattr(plan.configuration, "type", None) == "fleet"
    named = getattr(plan.configuration, "name", None)
    if is_fleet:
        what = f"Create the fleet {plan.run_name}"
    else:  # a run without a name gets a generated one when it is submitted, as in dstack
        what = f"Submit the run {named}" if named else "Submit a new run"
    if not yes:
        if not sys.stdin.isatty():
            console.print(f"{what}? \\[y/n]: no (stdin is not a terminal; pass -y)")
            raise SystemExit(1)
        answer = console.input(f"{what}? \\[y/n]: ").strip().lower()
        if answer not in ("y", "yes"):
            console.print("Nothing was created." if is_fleet else "Run not submitted.")
            raise SystemExit(1)
    if is_fleet:
        apply_fleet_plan(plan, rp, console)
        return
    from .apply_run import submit_and_attach

    code = submit_and_attach(plan, run_args, detach=detach, console=console)
    if code:
        raise SystemExit(code)
