"""The table of `dstack` commands: the module that implements each, and its one-line help."""

from __future__ import annotations

# name -> (module in cli/, the one-line help `dstack --help` shows), in the order shown.
COMMANDS: dict[str, tuple[str, str]] = {
    "apply": (
        "apply",
        "Plan and apply a configuration: shows offers and the stack's diff, then runs it.",
    ),
    "plan": (
        "plan",
        "Plan configurations (files or directories) without changing anything: apply --dry-run.",
    ),
    "run": ("run", "dstack's older form of apply: dstack run . -f FILE [ARGS] (all run args)."),
    "offer": ("offer", "List the offers that match the requirements, cheapest first."),
    "ps": (
        "ps",
        "List runs. By default the active runs, or the last finished one when none is active.",
    ),
    "logs": ("logs", "Show the output of a run; -f follows it until the run ends."),
    "attach": (
        "attach",
        "Attach to a running run: forward its ports to 127.0.0.1 again; --logs follows it.",
    ),
    "stop": ("stop", "Stop a run: SIGTERM, then kill after the grace period; -x kills now."),
    "delete": (
        "delete",
        "Delete a finished run with its logs, or what -f FILE created (a fleet, a run).",
    ),
    "validate": ("validate", "Validate .dstack.yml files and print what they normalize to."),
    "schema": ("schema", "Print the JSON Schema of .dstack.yml for editors."),
    "catalog": ("catalog", "The offers catalog (embedded snapshot, or downloaded live)."),
    "fleet": (
        "fleet",
        "List fleets and their instances; delete a fleet (destroys its Pulumi stack).",
    ),
    "secret": ("secret", "Set, list and delete secrets, used as ${{ secrets.NAME }} in env."),
    "event": ("event", "List status changes of runs, jobs, fleets, instances; -w follows."),
    "server": (
        "server",
        "Run the reconciler in the foreground (commands start one in the background); --stop.",
    ),
}


def help_of(name: str) -> str:
    """The one-line help of command `name`, as `dstack --help` lists it."""
    return COMMANDS[name][1]
