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
from ..config import load_document
from ..config.secret_refs import secret_env
from ..config.support import refuse_not_run_yet
from ..config.yamlfile import parse_yaml, read_yaml
from ..errors import FleetstackError
from ..models.plan import Plan
from ..runner.exposure import port_exposure
from ..state import RunRecord
from .fleets import ApplyProgress, FleetApplied, apply_fleet_plan
from .plan import OverrideValue, build_plan, placement_line, plan_stack
from .runs import submit_run
from .secrets import plan_secrets, protect_plan


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
    if text is None:
        doc = read_yaml(Path(file), display=file)
        path, cwd = Path(file), Path(file).resolve().parent
    else:
        doc = parse_yaml(text, "<stdin>")
        path, cwd = Path("stdin"), Path.cwd()  # a run without a name is called `stdin`
    found = secret_env(doc)
    # `-e NAME` took NAME's value from this shell (cli/apply.py): a secret like `- NAME`
    from_shell = [k for k, v in (env or {}).items() if os.environ.get(k) == v]
    found.from_caller += [k for k in from_shell if k not in found.names]
    found.names += [k for k in from_shell if k not in found.names]
    secrets = plan_secrets(found, dry_run=dry_run)
    loaded = load_document(doc, path=path, cwd=cwd, run_args=run_args, profile=profile,
                           profiles=profiles, environ=environ, secrets=secrets)  # fmt: skip
    if env:
        overrides = {**overrides, "env": dict(env)}
    plan = build_plan(loaded, overrides)
    protect_plan(plan, found, resolved=not dry_run)
    plan.run_args = list(run_args)
    plan_stack(plan, offline=dry_run, config=load_backends_config())
    placement = placement_line(plan)
    if placement is not None:
        plan.properties.append(("Placement", placement))
    exposure = port_exposure(plan)
    if exposure is not None:
        plan.properties.append(("Ports", exposure))
    return plan


def ensure_applicable(plan: Plan) -> None:
    """FleetstackError when the plan has nothing to apply (no offer matched), or was made
    without the caller's environment (a `--dry-run` plan leaves `- NAME` env entries open)."""
    refuse_not_run_yet(plan.configuration, plan.configuration_path)
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
