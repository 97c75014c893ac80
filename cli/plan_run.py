"""The plans of many configurations, printed (text, JSON or Markdown) with every secret
masked, optionally saved (--out), and the exit code pipelines read (--detailed-exitcode:
0 no changes, 2 changes, 1 an error; an error never looks like a change)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..engine.errors import FleetstackError
from ..engine.services.plan import OverrideValue
from ..engine.services.plans import (
    configuration_files,
    mask,
    plan_configurations,
    secret_values,
)
from .views.output import console as make_console
from .views.output import print_error
from .views.plan_json import plan_document
from .views.plan_markdown import render_markdown
from .views.plan_text import render_outcomes

FORMATS = ("text", "json", "markdown")


def run_plans(
    files: Sequence[str],
    overrides: Mapping[str, OverrideValue],
    *,
    run_args: list[str],
    profile: str | None,
    profiles: bool,
    env: Mapping[str, str],
    max_offers: int,
    output_format: str,
    detailed_exitcode: bool,
    out: str | None,
) -> None:
    """Plan every configuration, print the plan, save it; exit with the plan's code."""
    if output_format not in FORMATS:
        raise FleetstackError(f"--format {output_format}: use {', '.join(FORMATS)}")
    if "-" in files:
        raise FleetstackError("-f -: a dry run plans files; give the file's path")
    paths = configuration_files(files)
    outcomes = plan_configurations(paths, overrides=overrides, run_args=run_args,
                                   profile=profile, profiles=profiles, env=env)  # fmt: skip
    secrets = secret_values(paths, env)
    secrets += [json.dumps(v)[1:-1] for v in secrets if json.dumps(v)[1:-1] != v]
    document = plan_document(outcomes) if output_format == "json" or out else None
    if output_format == "json":
        text = json.dumps(document, indent=2) + "\n"
    elif output_format == "markdown":
        text = render_markdown(outcomes)
    else:
        console = make_console()
        with console.capture() as captured:
            render_outcomes(outcomes, console, max_offers=max_offers)
        text = captured.get()
    sys.stdout.write(mask(text, secrets))
    sys.stdout.flush()
    if out is not None:
        Path(out).write_text(mask(json.dumps(document, indent=2), secrets) + "\n")
    errors = [o for o in outcomes if o.plan is None]
    for outcome in errors:
        print_error(mask(outcome.error or "", secrets))
    if errors:
        raise SystemExit(1)
    if detailed_exitcode and any(o.plan is not None and o.plan.has_changes for o in outcomes):
        raise SystemExit(2)
