"""`dstack apply` as a use case: build the plan (offers, chosen offer, resource plan), then
execute exactly that plan: a fleet's stack `up`, or a run's submission.

Nothing is written while planning; what executing leaves behind after a crash is said by
engine/fleets/lifecycle.py (fleets) and engine/runs/submit.py (runs).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..backends.config import load_backends_config
from ..config import load_configuration, load_document
from ..config.validation import _AnySecret
from ..config.yamlfile import parse_yaml
from ..errors import FleetstackError
from ..models.plan import Plan
from ..state import RunRecord
from .fleets import ApplyProgress, FleetApplied, apply_fleet_plan
from .plan import OverrideValue, build_plan, plan_stack
from .runs import submit_run


@dataclass(frozen=True)
class RunSubmitted:
    run: RunRecord


def plan_apply(
    file: str,
    *,
    run_args: Sequence[str],
    overrides: Mapping[str, OverrideValue],
    profile: str | None,
    dry_run: bool,
    env: Mapping[str, str] | None = None,
    profiles: bool = True,
    text: str | None = None,
) -> Plan:
    """The plan of the configuration in `file` (or of `text`, read from stdin), with the
    stack's resource plan when the chosen offer has a stack (offline with `dry_run` or without
    the Pulumi CLI, else a preview). `env` (-e) is added to the run's env, and wins."""
    # a submit resolves `- NAME` env entries from the caller's environment and -e
    environ = None if dry_run else {**os.environ, **(env or {})}
    # a dry run, like validate, takes every `${{ secrets.NAME }}` as a placeholder
    secrets = _AnySecret() if dry_run else None
    if text is None:
        loaded = load_configuration(
            file,
            run_args=run_args,
            profile=profile,
            profiles=profiles,
            environ=environ,
            secrets=secrets,
        )
    else:
        loaded = load_document(
            parse_yaml(text, "<stdin>"),
            path=Path("stdin"),  # a run without a name is called `stdin`
            cwd=Path.cwd(),
            run_args=run_args,
            profile=profile,
            profiles=profiles,
            environ=environ,
            secrets=secrets,
        )
    if env:
        overrides = {**overrides, "env": dict(env)}
    plan = build_plan(loaded, overrides)
    plan.run_args = list(run_args)
    plan_stack(plan, offline=dry_run, config=load_backends_config())
    return plan


def ensure_applicable(plan: Plan) -> None:
    """FleetstackError when the plan has nothing to apply (no offer matched), or was made
    without the caller's environment (a `--dry-run` plan leaves `- NAME` env entries open)."""
    if not plan.offers.offers:
        raise FleetstackError(f"nothing to submit: {plan.offers.empty_reason}")
    unresolved = [k for k, v in (plan.configuration.env or {}).items() if v is None]
    if unresolved:
        raise FleetstackError(
            f"{plan.configuration_path}: env {unresolved[0]} has no value in this plan: "
            "plan it again without --dry-run to take it from your environment"
        )


def execute_plan(
    plan: Plan, *, run_args: Sequence[str], progress: ApplyProgress
) -> FleetApplied | RunSubmitted:
    """Apply exactly `plan`: a fleet is created (its stack `up`), a run is submitted."""
    ensure_applicable(plan)
    if plan.is_fleet:
        return apply_fleet_plan(plan, progress)
    return RunSubmitted(submit_run(plan, run_args=run_args))
