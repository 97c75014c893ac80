"""The stack part of `dstack apply`: the resource plan under the offers, and `up` for fleets."""

from __future__ import annotations

from typing import Any


def show_resource_plan(plan: Any, console: Any, *, dry_run: bool) -> Any:
    """Render the stack's resource plan when the first offer is a cloud one; returns it.

    With --dry-run, or without the Pulumi CLI, the program is evaluated offline (no state
    compared); otherwise `pulumi preview --diff` runs against the stack's state.
    """
    from ..engine.backends.base import Capability
    from ..engine.backends.config import load_backends_config
    from ..engine.backends.registry import names_with
    from ..engine.fleets.stacks import first_cloud_offer, resource_plan, stack_offer
    from .views.tables import render_resource_plan

    offer = first_cloud_offer(plan)
    if offer is None:
        return None
    if _elastic_and_empty(plan):
        console.print(
            f"\nFleet {plan.run_name} starts with no instance ({_nodes_text(plan)}): nothing is "
            "created now; its stack gets instances when runs need them."
        )
        return None
    if stack_offer(plan) is None:
        console.print(
            f"\n[yellow]No resource plan: no offer is on a backend with a stack program "
            f"({', '.join(names_with(Capability.STACK))}); {offer.backend} cannot be provisioned "
            "yet.[/yellow]"
        )
        return None
    config = load_backends_config()
    rp = resource_plan(plan, offline=dry_run, config=config)
    if rp is not None:
        render_resource_plan(rp, console)
    return rp


def apply_fleet_plan(plan: Any, rp: Any, console: Any) -> None:
    """`up` the fleet's stack with progress, then print its instances."""
    from ..engine.backends.base import Capability
    from ..engine.backends.config import load_backends_config
    from ..engine.backends.registry import names_with
    from ..engine.errors import FleetstackError
    from ..engine.fleets.lifecycle import apply_fleet, make_driver
    from ..engine.state import instances_of_fleet, open_state
    from ..stacks.errors import ensure_pulumi_cli

    if rp is None and _elastic_and_empty(plan):
        from ..engine.fleets.lifecycle import record_empty_fleet

        fleet = record_empty_fleet(open_state(), plan.run_name, spec=_empty_fleet_spec(plan))
        console.print(
            f"Fleet {fleet.name} is {fleet.status.value} with no instance ({_nodes_text(plan)})."
        )
        return
    if rp is None:
        *clouds, last = names_with(Capability.STACK)
        raise FleetstackError(
            f"{plan.configuration_path}: a fleet needs a cloud offer ({', '.join(clouds)} or "
            f"{last}); "
            "the local machine is already a fleet of one. Set `backends:` in the file"
        )
    ensure_pulumi_cli()
    if rp.source != "preview":
        # The plan shown was offline; the stack's real diff is what `up` will apply.
        console.print("[yellow]The resource plan above compared no state.[/yellow]")
    state = open_state()
    driver = make_driver(rp.offer.backend, load_backends_config())
    console.print(f"Provisioning fleet {rp.spec.fleet} (stack fleetstack/{rp.spec.stack_name})...")
    fleet = apply_fleet(
        state,
        rp,
        driver=driver,
        on_output=lambda line: console.print(line.rstrip("\n"), markup=False, highlight=False),
        idle_duration=getattr(plan.configuration, "idle_duration", None),
    )
    for instance in instances_of_fleet(state, fleet.id):
        console.print(
            f"  {fleet.name}-{instance.instance_num}  {instance.instance_type}  "
            f"{instance.hostname or '-'}  ssh user {instance.ssh_user or '-'}"
        )
    console.print(f"Fleet {fleet.name} is {fleet.status.value}. `dstack fleet` lists it.")


def _elastic_and_empty(plan: Any) -> bool:
    """A fleet such as `nodes: 0..2`: it owns no instance until a run needs one."""
    configuration = plan.configuration
    return getattr(configuration, "type", None) == "fleet" and configuration.node_count == 0


def _nodes_text(plan: Any) -> str:
    nodes = plan.configuration.nodes
    if isinstance(nodes, int):
        return f"nodes: {nodes}"
    return f"nodes: {nodes.min or 0}..{nodes.max if nodes.max is not None else ''}"


def _empty_fleet_spec(plan: Any) -> dict[str, Any]:
    nodes = plan.configuration.nodes
    return {
        "nodes": 0,
        "max_nodes": None if isinstance(nodes, int) else nodes.max,
        "idle_duration": getattr(plan.configuration, "idle_duration", None),
        "resources": plan.requirements.resources.pretty(),
    }
