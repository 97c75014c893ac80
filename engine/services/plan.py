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
from ..fleets.stacks import choose_offer, resource_plan
from ..fleets.update import LiveFleet, live_fleet, plan_fleet
from ..models.durations import format_duration
from ..models.json import JSONObject
from ..models.offers import Requirements, format_price
from ..models.plan import OverrideValue, Plan, PlanBasis
from ..offers.match import check_backends, find_offers


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
        overrides={k: v for k, v in flags.items() if k != "env"},  # -e values are not kept
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


def plan_stack(plan: Plan, *, offline: bool, config: BackendsConfig | None) -> None:
    """Add the stack's part to a plan: a fleet compared with its live fleet (fleet_change and
    the resource plan of that change), a cloud run's resource plan; then the plan's basis.

    Offline (a dry run): nothing is created, the project key included; a live fleet's stack
    is still previewed against its state when its engine can run here (the Pulumi CLI)."""
    live: LiveFleet | None = None
    if plan.is_fleet:
        live = live_fleet(plan.run_name)
        plan_fleet(plan, offline=offline, config=config, live=live)
    elif plan.offers.offers:
        plan.resource_plan = resource_plan(plan, offline=offline, config=config)
    rp = plan.resource_plan
    offer = plan.chosen_offer
    plan.basis = PlanBasis(
        configuration_digest=configuration_digest(plan.configuration),
        offer=offer_key(offer.backend, offer.region, offer.instance_type, offer.spot, offer.price)
        if offer
        else "-",  # fmt: skip
        stack_version=(live.version if live else "absent") if plan.is_fleet else "-",
        state_source=rp.source if rp is not None else "-",
        catalog=plan.offers.catalog_label,
    )


def configuration_digest(configuration: AnyConfiguration) -> str:
    """A digest of the normalised configuration, env values left out (their names count)."""
    import hashlib
    import json

    document: JSONObject = configuration.model_dump(mode="json")
    document["env"] = [*sorted(configuration.env or {})]
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def offer_key(backend: str, region: str, instance_type: str, spot: bool, price: float) -> str:
    """`aws/us-east-1/g5.xlarge/on-demand/$1.006`: the offer a saved plan was computed with."""
    return f"{backend}/{region}/{instance_type}/{'spot' if spot else 'on-demand'}/{price:g}"


def stale_reasons(saved: PlanBasis, fresh: PlanBasis) -> list[str]:
    """What changed between a saved plan's basis and the same plan computed now."""
    checks = [
        ("the configuration", saved.configuration_digest, fresh.configuration_digest),
        ("the chosen offer", saved.offer, fresh.offer),
        ("the fleet's stack", saved.stack_version, fresh.stack_version),
    ]
    return [f"{what} changed ({old} -> {new})" for what, old, new in checks if old != new]


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
    from ..fleets.placement import place_run, placement_text
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
        return placement_text(instances, configuration)
    if chosen is None:
        return None
    if local:
        return "this machine"
    return f"a new fleet for the run ({chosen.backend} {chosen.instance_type})"
