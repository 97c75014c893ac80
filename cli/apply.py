"""`dstack apply`: plan a configuration (offers, stack diff), confirm, then run it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from ..engine.config.yamlfile import MAX_BYTES
from ..engine.errors import FleetstackError
from .apply_plan import apply_saved_plan, plan_and_confirm
from .commands import help_of
from .options import Backends, InstanceTypes, MaxPrice, Regions, spot_policy
from .plan_run import run_plans
from .run_args import RunArgsCommand

app = typer.Typer(add_completion=False)


@app.command(
    "apply", help=help_of("apply"), cls=RunArgsCommand, context_settings={"allow_extra_args": True}
)
def apply_command(
    ctx: typer.Context,
    files: list[str] | None = typer.Option(
        None,
        "-f",
        "--file",
        help="The configuration file (default .dstack.yml; - reads stdin); with --dry-run "
        "repeatable, or a directory of *.dstack.yml files",
    ),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan and exit"),
    detach: bool = typer.Option(False, "-d", "--detach", help="Do not attach to the run"),
    force: bool = typer.Option(
        False, "--force", help="Re-create a fleet without asking; apply a stale saved plan"
    ),
    as_json: bool = typer.Option(False, "--json", help="With --dry-run: the plan as JSON"),
    output_format: str | None = typer.Option(
        None, "--format", help="With --dry-run: text (default), json or markdown"
    ),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="With --dry-run: exit 0 no changes, 2 changes, 1 error"
    ),
    out: str | None = typer.Option(None, "--out", help="With --dry-run: save the plan (JSON)"),
    saved_plan: str | None = typer.Option(
        None, "--plan", help="Apply exactly this saved plan (from --out), refused when stale"
    ),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show up to 50 offers"),
    name: str | None = typer.Option(None, "-n", "--name", help="The run's or fleet's name"),
    env: list[str] | None = typer.Option(
        None, "-e", "--env", help="KEY=VALUE, or KEY from your environment (repeatable)"
    ),
    cpu: str | None = typer.Option(None, "--cpu", help="CPU count, e.g. 8.. or arm:4.."),
    gpu: str | None = typer.Option(None, "--gpu", help="GPU spec, e.g. A100:80GB:8 or 24GB.."),
    memory: str | None = typer.Option(None, "--memory", help="Memory, e.g. 32GB.."),
    disk: str | None = typer.Option(None, "--disk", help="Disk size, e.g. 200GB.."),
    backend: Backends = None,
    region: Regions = None,
    instance_type: InstanceTypes = None,
    spot: bool = typer.Option(False, "--spot", help="Spot instances only"),
    on_demand: bool = typer.Option(False, "--on-demand", help="On-demand instances only"),
    spot_auto: bool = typer.Option(False, "--spot-auto", help="Spot or on-demand, cheapest first"),
    spot_policy_flag: str | None = typer.Option(
        None, "--spot-policy", help="spot, on-demand or auto"
    ),
    max_price: MaxPrice = None,
    idle_duration: str | None = typer.Option(
        None, "--idle-duration", help="Keep an idle instance this long, e.g. 1h or off"
    ),
    max_duration: str | None = typer.Option(
        None, "--max-duration", help="Stop the run after this long, e.g. 2h"
    ),
    retry: bool | None = typer.Option(
        None, "--retry/--no-retry", help="Retry on no-capacity, interruption or error"
    ),
    retry_duration: str | None = typer.Option(
        None, "--retry-duration", help="Keep retrying this long, e.g. 1h (implies --retry)"
    ),
    max_offers: int | None = typer.Option(None, "--max-offers", help="Offers shown (default 3)"),
    profile: str | None = typer.Option(None, "--profile", help="Profile from .dstack/profiles.yml"),
    no_profile: bool = typer.Option(False, "--no-profile", help="Do not apply any profile"),
    reuse: bool = typer.Option(False, "-R", "--reuse", help="Only reuse an existing instance"),
    fleet: list[str] | None = typer.Option(None, "--fleet", help="Fleet the run may use"),
    port: list[str] | None = typer.Option(
        None, "-p", "--port", help="Forward a port of the job to 127.0.0.1: LOCAL:REMOTE"
    ),
) -> None:
    policies = [f for f, on in (("--spot", spot), ("--on-demand", on_demand),
                                ("--spot-auto", spot_auto), ("--spot-policy", spot_policy_flag))
                if on]  # fmt: skip
    if len(policies) > 1:
        raise FleetstackError(f"{' and '.join(policies)}: give one spot policy at most")
    if no_profile and profile:
        raise FleetstackError("--profile and --no-profile: give one of them")
    file, *more = files or [".dstack.yml"]
    resources = {"cpu": cpu, "gpu": gpu, "memory": memory, "disk": disk}
    overrides = {
        "name": name,
        "backends": backend or None,
        "regions": region or None,
        "instance_types": instance_type or None,
        "spot_policy": spot_policy(spot, on_demand, spot_auto) or _spot_policy(spot_policy_flag),
        "max_price": max_price,
        "idle_duration": idle_duration,
        "max_duration": max_duration,
        "retry": _retry(retry, retry_duration),
        "resources": {k: v for k, v in resources.items() if v is not None} or None,
        "fleets": fleet or None,
        "creation_policy": "reuse" if reuse else None,
    }
    max_offers = max_offers if max_offers is not None else 50 if verbose else 3
    if saved_plan is not None:
        apply_saved_plan(saved_plan, yes=yes, force=force, detach=detach)
        return
    if dry_run or as_json or output_format or detailed_exitcode or out:
        if not dry_run:
            raise FleetstackError("--json, --format, --detailed-exitcode and --out go with "
                                  "--dry-run (or `dstack plan`)")  # fmt: skip
        run_plans([file, *more], overrides, run_args=list(ctx.args), profile=profile,
                  profiles=not no_profile, env=_env(env or []), max_offers=max_offers,
                  output_format=output_format or ("json" if as_json else "text"),
                  detailed_exitcode=detailed_exitcode, out=out)  # fmt: skip
        return
    if more or Path(file).is_dir():
        raise FleetstackError(
            "apply takes one configuration at a time; plan many with --dry-run or `dstack plan`"
        )
    text = _stdin_configuration(yes) if file == "-" else None
    plan_and_confirm(file, list(ctx.args), overrides, yes=yes, dry_run=dry_run, detach=detach,
                     max_offers=max_offers, profile=profile, profiles=not no_profile,
                     env=_env(env or []), text=text, force=force, ports=port or [])  # fmt: skip


def _stdin_configuration(yes: bool) -> str:
    if not yes:
        raise FleetstackError(
            "-f - reads the configuration from stdin, so nothing is left to answer the prompt: "
            "add -y"
        )
    # at most one byte over the limit is read: parse_yaml refuses it, naming the limit
    return sys.stdin.buffer.read(MAX_BYTES + 1).decode("utf-8", errors="replace")


def _spot_policy(value: str | None) -> str | None:
    if value is not None and value not in ("spot", "on-demand", "auto"):
        raise FleetstackError(f"--spot-policy {value}: use spot, on-demand or auto")
    return value


def _retry(retry: bool | None, duration: str | None) -> bool | dict[str, str] | None:
    if duration is None:
        return retry
    if retry is False:
        raise FleetstackError("--no-retry and --retry-duration: give one of them")
    return {"duration": duration}


def _env(items: list[str]) -> dict[str, str]:
    """-e KEY=VALUE as given; -e KEY from this shell's environment."""
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            if key not in os.environ:
                raise FleetstackError(
                    f"-e {key}: {key} is not set in your environment: export it or pass "
                    f"-e {key}=VALUE"
                )
            value = os.environ[key]
        env[key] = value
    return env
