"""`dstack secret`: set, list and delete the project's secrets (values are never printed)."""

from __future__ import annotations

import sys

import typer

from ..engine.errors import FleetstackError
from ..engine.services.secrets import delete_secret, secret_names, set_secret
from .commands import help_of

app = typer.Typer(add_completion=False, help=help_of("secret"), no_args_is_help=True)
_PROJECT = typer.Option("main", "--project", help="The project the secret belongs to")
MAX_STDIN_BYTES = 64 * 1024 + 1


@app.command("set", help="Store a secret: VALUE, - to read it from stdin, or nothing to type it")
def set_command(
    name: str = typer.Argument(..., help="The secret's name, used as ${{ secrets.NAME }}"),
    value: str | None = typer.Argument(None, help="The value; - reads stdin; omit to type it"),
    project: str = _PROJECT,
) -> None:
    if value == "-":
        value = _read_stdin()
    elif value is None:
        value = _prompt(name)
    replaced = set_secret(name, value, project=project)
    typer.echo(f"secret {name} {'updated' if replaced else 'set'} ({project})")


@app.command("list", help="List the secrets' names (never their values)")
def list_command(project: str = _PROJECT) -> None:
    names = secret_names(project=project)
    if not names:
        typer.echo(f"no secrets in project {project}: add one with `dstack secret set NAME`")
        return
    for name in names:
        typer.echo(name)


@app.command("delete", help="Delete a secret")
def delete_command(
    name: str = typer.Argument(..., help="The secret's name"), project: str = _PROJECT
) -> None:
    if not delete_secret(name, project=project):
        raise FleetstackError(f"no secret {name} in project {project} (`dstack secret list`)")
    typer.echo(f"secret {name} deleted ({project})")


def _read_stdin() -> str:
    data = sys.stdin.buffer.read(MAX_STDIN_BYTES)
    # one trailing newline is the shell's (echo, a heredoc), not the secret's
    return data.decode("utf-8", errors="strict").removesuffix("\n").removesuffix("\r")


def _prompt(name: str) -> str:
    if not sys.stdin.isatty():
        raise FleetstackError(
            f"dstack secret set {name}: no value given and stdin is not a terminal: pass the "
            "value, or - to read it from stdin"
        )
    import getpass

    return getpass.getpass(f"value of {name} (not echoed): ")
