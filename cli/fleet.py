"""`dstack fleet`: list fleets and instances; delete (destroys the stack) or cancel an update."""

from __future__ import annotations

import typer

fleet_app = typer.Typer(
    help="List fleets and their instances; delete a fleet (destroys its Pulumi stack).",
    invoke_without_command=True,
    no_args_is_help=False,
)


def register(app: typer.Typer) -> None:
    app.add_typer(fleet_app, name="fleet")


@fleet_app.callback()
def fleet_main(
    ctx: typer.Context,
    all_fleets: bool = typer.Option(False, "-a", "--all", help="Also terminated fleets"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    if ctx.invoked_subcommand is None:
        list_fleets_command(all_fleets=all_fleets, as_json=as_json)


@fleet_app.command("list")
def list_command(
    all_fleets: bool = typer.Option(False, "-a", "--all", help="Also terminated fleets"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """List fleets (the same as `dstack fleet`)."""
    list_fleets_command(all_fleets=all_fleets, as_json=as_json)


@fleet_app.command("delete")
def delete_command(
    name: str = typer.Argument(..., help="The fleet's name"),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation"),
) -> None:
    """Delete a fleet: destroys its stack (every instance and resource), then forgets it."""
    from ..engine.backends.config import load_backends_config
    from ..engine.fleets.lifecycle import delete_fleet, find_fleet, make_driver
    from ..engine.state import open_state
    from .views.confirm import confirm
    from .views.output import console as make_console

    state = open_state()
    console = make_console()
    find_fleet(state, name)  # an unknown fleet is said before asking anything
    if not confirm(f"Delete the fleet {name} and destroy its stack?", yes=yes):
        console.print("Nothing was deleted.")
        raise typer.Exit(1)
    config = load_backends_config()
    fleet = delete_fleet(state, name, driver_for=lambda cloud: make_driver(cloud, config))
    done = "its stack was destroyed" if fleet.stack_name else "it had no stack"
    console.print(f"Fleet {name} deleted: {done}.")


@fleet_app.command("cancel")
def cancel_command(name: str = typer.Argument(..., help="The fleet's name")) -> None:
    """Cancel a stuck update of the fleet's stack and release its lock."""
    from ..engine.backends.config import load_backends_config
    from ..engine.fleets.lifecycle import find_fleet, fleet_cloud, make_driver
    from ..engine.state import open_state
    from .views.output import console as make_console

    fleet = find_fleet(open_state(), name)
    cloud = fleet_cloud(fleet)
    make_driver(cloud, load_backends_config()).cancel(fleet.project, fleet.name, cloud)
    make_console().print(f"The update of fleet {name}'s stack was cancelled; its lock is released.")


def list_fleets_command(*, all_fleets: bool, as_json: bool) -> None:
    import json

    from ..engine.state import instances_of_fleet, list_fleets, open_state
    from .views.output import console as make_console

    state = open_state()
    _reap_idle(state)
    fleets = list_fleets(state, include_finished=all_fleets)
    rows = []
    for fleet in fleets:
        spec = fleet.spec or {}
        instances = instances_of_fleet(state, fleet.id, include_terminated=all_fleets)
        rows.append((fleet, spec, instances))
    if as_json:
        print(json.dumps([_fleet_json(f, s, i) for f, s, i in rows], indent=2))
        return
    console = make_console()
    if not rows:
        console.print("No fleets. Create one with `dstack apply -f fleet.dstack.yml`.")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in (
        "FLEET",
        "INSTANCE",
        "BACKEND",
        "REGION",
        "RESOURCES",
        "SPOT",
        "PRICE",
        "STATUS",
    ):
        table.add_column(column)
    for fleet, spec, instances in rows:
        status = fleet.status.value + (f" ({fleet.status_message})" if fleet.status_message else "")
        table.add_row(
            fleet.name, "", fleet.backend or "", spec.get("region", ""), "", "", "", status
        )
        for instance in instances:
            table.add_row(
                "",
                str(instance.instance_num),
                instance.backend,
                instance.region or "",
                f"{instance.instance_type or ''} {spec.get('resources', '')}".strip(),
                "yes" if instance.spot else "no",
                f"${instance.price:g}" if instance.price is not None else "",
                instance.status.value,
            )
    console.print(table)


def _fleet_json(fleet: object, spec: dict, instances: list) -> dict:
    return {
        "name": fleet.name,
        "status": fleet.status.value,
        "message": fleet.status_message,
        "backend": fleet.backend,
        "stack_name": fleet.stack_name,
        "spec": spec,
        "created_at": fleet.created_at.isoformat(),
        "instances": [
            {
                "num": i.instance_num,
                "status": i.status.value,
                "instance_type": i.instance_type,
                "region": i.region,
                "spot": i.spot,
                "price": i.price,
                "hostname": i.hostname,
                "internal_ip": i.internal_ip,
                "ssh_user": i.ssh_user,
            }
            for i in instances
        ],
    }


def _reap_idle(state: object) -> None:
    """Destroy fleets idle past their idle_duration (needs the Pulumi CLI to act)."""
    import shutil

    from ..engine.fleets.lifecycle import idle_fleets

    due = idle_fleets(state)
    if not due:
        return
    from .views.output import print_error

    if shutil.which("pulumi") is None:
        print_error("some fleets are idle past their idle_duration; install the Pulumi CLI so "
                    "`dstack fleet` can destroy them")  # fmt: skip
        return
    from ..engine.backends.config import load_backends_config
    from ..engine.fleets.lifecycle import make_driver, reap_idle_fleets

    config = load_backends_config()
    reaped = reap_idle_fleets(state, driver_for=lambda c: make_driver(c, config), due=due)
    for name in reaped:
        print_error(f"fleet {name} was idle past its idle_duration: its stack was destroyed")
