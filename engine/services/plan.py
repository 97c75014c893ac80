"""The plan of a run: its properties and its offers, and how both are rendered with rich."""

from __future__ import annotations

from typing import Any

from ..models.offers import Requirements, format_price
from ..models.plan import Plan
from ..offers.match import check_backends, find_offers


def build_plan(loaded: Any, overrides: dict[str, Any] | None = None, *, config=None) -> Plan:
    """The plan of a LoadedConfiguration with CLI overrides (backends, regions, spot_policy...).

    Overrides (None = flag not given) win over the file and its profiles, as in dstack; the
    plan carries the overridden configuration, so what is run is what was planned.
    """
    configuration = loaded.configuration
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    check_backends(flags.get("backends"), "-b")
    check_backends(getattr(configuration, "backends", None), f"{loaded.path}: backends:")
    if flags:
        from ..config import apply_overrides

        configuration = apply_overrides(configuration, **flags)
    req = Requirements.from_configuration(configuration)
    offers = find_offers(req, config=config)
    name = getattr(configuration, "name", None) or loaded.path.stem.replace(".dstack", "") or "run"
    return Plan(
        configuration_path=str(loaded.path),
        configuration=configuration,
        requirements=req,
        offers=offers,
        run_name=name,
        properties=_properties(loaded, configuration, req),
    )


def _properties(loaded: Any, configuration: Any, req: Requirements) -> list[tuple[str, str]]:
    from ..models.durations import format_duration

    retry = getattr(configuration, "retry", None)
    retry_text = "no"
    if retry is not None:
        events = ", ".join(getattr(retry, "on_events", []) or []) or "any"
        retry_text = f"{events} ({format_duration(getattr(retry, 'duration', None))})"
    res = req.resources
    return [
        ("Configuration", str(loaded.path)),
        ("Type", getattr(configuration, "type", "")),
        ("Resources", res.pretty() if hasattr(res, "pretty") else str(res)),
        ("Spot policy", req.spot_policy),
        ("Max price", format_price(req.max_price) if req.max_price is not None else "-"),
        ("Retry", retry_text),
        ("Idle duration", format_duration(getattr(configuration, "idle_duration", None))),
        ("Max duration", format_duration(getattr(configuration, "max_duration", None))),
        ("Nodes", str(req.nodes)),
    ]
