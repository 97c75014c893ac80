"""The Pulumi program of a fleet: the cloud's module, imported only when it is needed."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .errors import StackError
from .spec import StackSpec

# cloud -> module whose `program(spec)` declares that cloud's resources
PROGRAM_MODULES = {
    "aws": "fleetstack.stacks.aws",
    "gcp": "fleetstack.stacks.gcp",
    "azure": "fleetstack.stacks.azure",
}


def program_for(spec: StackSpec) -> Callable[[], None]:
    """A zero-argument Pulumi program that declares `spec`'s fleet on its cloud.

    Only the module of `spec.cloud` is imported (and with it only that cloud's SDK,
    when the program runs), so a user with one cloud never pays for the others.
    """
    module_name = PROGRAM_MODULES.get(spec.cloud)
    if module_name is None:
        supported = ", ".join(sorted(PROGRAM_MODULES))
        raise StackError(
            f"fleet {spec.fleet!r}: cloud {spec.cloud!r} has no stack program; "
            f"use one of: {supported} (or the local/ssh backends, which need no stack)"
        )
    module = importlib.import_module(module_name)
    program: Callable[[StackSpec], None] = module.program

    def run() -> None:
        program(spec)

    return run
