"""The plan of a run or fleet: its properties, its offers and the one apply takes.

The chosen offer is decided here, once: the cheapest offer overall when it is this machine
(a local run), else the cheapest one on a backend that can provision a stack; the backends
of cheaper offers are listed in `passed_over` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..backends.base import Capability
from ..backends.config import BackendsConfig
from ..backends.registry import get_backend
from ..config import (
    AnyConfiguration,
    BaseRunConfiguration,
    FleetConfiguration,
    LoadedConfiguration,
    ServiceConfiguration,
    TaskConfiguration,
    apply_overrides,
    load_configuration,
)
from ..config.support import not_run_yet
from ..errors import FleetstackError
from ..fleets.stacks import choose_offer
from ..models.durations import format_duration
from ..models.offers import Requirements, format_price
from ..models.plan import Plan
from ..offers.match import check_backends, find_offers

# A CLI flag's value (None = flag not given): backends/regions/instance types, a name, a spot
# policy, a duration, a max price, retry on/off, env or resources (merged into the file's).
OverrideValue = list[str] | str | float | bool | dict[str, str] | None


def planned_name(configuration: AnyConfiguration, path: Path) -> str:
    """The name `dstack apply` gives what `path` declares: its `name:`, else the file's stem."""
    return configuration.name or path.stem.replace(".dstack", "") or "run"


@dataclass(frozen=True)
class Declared:
    """What a configuration file creates when applied: a fleet, or a run, and its name."""

    kind: Literal["fleet", "run"]
    name: str


def declared(file: str) -> Declared:
    """What `dstack apply -f file` would create, by name (`dstack delete -f file`)."""
    loaded = load_configuration(file, profiles=False)  # a profile never names anything
    kind: Literal["fleet", "run"] = (
        "fleet" if isinstance(loaded.configuration, FleetConfiguration) else "run"
    )
    return Declared(kind, planned_name(loaded.configuration, loaded.path))


def build_plan(
    loaded: LoadedConfiguration,
    overrides: Mapping[str, OverrideValue] | None = None,
    *,
    config: BackendsConfig | None = None,
) -> Plan:
    """The plan of a LoadedConfiguration with CLI overrides (backends, regions, spot_policy...).

    Overrides (None = flag not given) win over the file and its profiles, as in dstack; the
    plan carries the overridden configuration, so what is run is what was planned.
    """
    configuration: AnyConfiguration = loaded.configuration
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    backends = flags.get("backends")
    check_backends(backends if isinstance(backends, list) else None, "-b")
    check_backends(configuration.backends, f"{loaded.path}: backends:")
    if flags:
        configuration = apply_overrides(configuration, **flags)
    req = Requirements.from_configuration(configuration)
    offers = find_offers(req, config=config)
    name = planned_name(configuration, loaded.path)
    choice = choose_offer(offers.offers)
    return Plan(
        configuration_path=str(loaded.path),
        configuration=configuration,
        requirements=req,
        offers=offers,
        run_name=name,
        properties=_properties(loaded, configuration, req),
        chosen_offer=choice.offer,
        passed_over=choice.passed_over,
        runs_here=choice.runs_here,
    )


def _properties(
    loaded: LoadedConfiguration, configuration: AnyConfiguration, req: Requirements
) -> list[tuple[str, str]]:
    retry = configuration.retry
    retry_text = "no"
    if retry is not None:
        events = ", ".join(retry.on_events or []) or "any"
        retry_text = f"{events} ({format_duration(retry.duration)})"
    max_duration = None
    if isinstance(configuration, BaseRunConfiguration):
        max_duration = configuration.max_duration
    later = not_run_yet(configuration)  # valid fields apply refuses today: said up front
    return [
        ("Configuration", str(loaded.path)),
        ("Type", configuration.type),
        ("Resources", req.resources.pretty()),
        ("Spot policy", req.spot_policy or ""),
        ("Max price", format_price(req.max_price) if req.max_price is not None else "-"),
        ("Retry", retry_text),
        ("Idle duration", format_duration(configuration.idle_duration)),
        ("Max duration", format_duration(max_duration)),
        ("Nodes", str(req.nodes)),
        *([("Not supported yet", ", ".join(later))] if later else []),
    ]


def placement_line(plan: Plan) -> str | None:
    """Where the planned run would go, as the plan shows it: `fleet F (instances ...)`, this
    machine, or the stack created for the run; the reason when `fleets:`, `instances:` or
    `-R` leave nothing. None for a fleet. Reads the state only when it has a live fleet."""
    from ..fleets.placement import place_run
    from ..reconciler.daemon import may_have_work
    from ..state import open_state

    configuration = plan.configuration
    if not isinstance(configuration, TaskConfiguration | ServiceConfiguration):
        return None
    chosen = plan.chosen_offer
    local = chosen is not None and get_backend(chosen.backend).supports(Capability.LOCAL_JOBS)
    try:  # no live fleet in the database (or no database): nothing to open, nothing written
        instances = place_run(open_state() if may_have_work() else None, plan)
    except FleetstackError as exc:
        return f"none: {exc}"
    if instances:
        names = ", ".join(i.name for i in instances)
        return f"idle instance(s) {names} (reused)"
    if chosen is None:
        return None
    if local:
        return "this machine"
    return f"a new fleet for the run ({chosen.backend} {chosen.instance_type})"
