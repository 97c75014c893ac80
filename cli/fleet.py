"""`dstack fleet`: list fleets and instances; delete (destroys the stack) or cancel an update."""

from __future__ import annotations

import json

import typer
from pydantic import JsonValue

from ..engine.services import fleets
from ..engine.services.fleets import FleetListing
from .commands import help_of
from .views.confirm import confirm
from .views.output import console as make_console
from .views.output import print_error
from .views.tables import fleets_table, print_table

app = typer.Typer(
    name="fleet",
    help=help_of("fleet"),
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
)


@app.callback()
def fleet_main(
    ctx: typer.Context,
    all_fleets: bool = typer.Option(False, "-a", "--all", help="Also terminated fleets"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    if ctx.invoked_subcommand is None:
        list_fleets_command(all_fleets=all_fleets, as_json=as_json)


@app.command("list")
def list_command(
    all_fleets: bool = typer.Option(False, "-a", "--all", help="Also terminated fleets"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """List fleets (the same as `dstack fleet`)."""
    list_fleets_command(all_fleets=all_fleets, as_json=as_json)


@app.command("delete")
def delete_command(
    name: str = typer.Argument(..., help="The fleet's name"),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation"),
) -> None:
    """Delete a fleet: destroys its stack (every instance and resource), then forgets it."""
    console = make_console()
    fleets.check_fleet(name)  # an unknown fleet is said before asking anything
    if not confirm(f"Delete the fleet {name} and destroy its stack?", yes=yes):
        console.print("Nothing was deleted.")
        raise typer.Exit(1)
    fleet = fleets.delete(name)
    done = "its stack was destroyed" if fleet.stack_name else "it had no stack"
    console.print(f"Fleet {name} deleted: {done}.")


@app.command("cancel")
def cancel_command(name: str = typer.Argument(..., help="The fleet's name")) -> None:
    """Cancel a stuck update of the fleet's stack and release its lock."""
    fleets.cancel(name)
    make_console().print(f"The update of fleet {name}'s stack was cancelled; its lock is released.")


def list_fleets_command(*, all_fleets: bool, as_json: bool) -> None:
    """Reap idle fleets (saying so), then list fleets as a table or JSON."""
    reaping = fleets.reap_idle()
    if reaping.blocked:
        print_error("some fleets are idle past their idle_duration; install the Pulumi CLI so "
                    "`dstack fleet` can destroy them")  # fmt: skip
    for name in reaping.reaped:
        print_error(f"fleet {name} was idle past its idle_duration: its stack was destroyed")
    listed = fleets.listing(include_finished=all_fleets)
    if as_json:
        print(json.dumps([_fleet_json(item) for item in listed], indent=2))
        return
    console = make_console()
    if not listed:
        console.print("No fleets. Create one with `dstack apply -f fleet.dstack.yml`.")
        return
    print_table(console, fleets_table(listed))


def _fleet_json(item: FleetListing) -> dict[str, JsonValue]:
    fleet = item.fleet
    return {
        "name": fleet.name,
        "status": fleet.status.value,
        "message": fleet.status_message,
        "backend": fleet.backend,
        "stack_name": fleet.stack_name,
        "spec": item.spec.model_dump(mode="json"),
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
            for i in item.instances
        ],
    }
