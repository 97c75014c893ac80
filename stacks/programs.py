"""The Pulumi program of a fleet: the module of stacks/ named after its cloud, imported only
when it is needed. A program module defines `program(spec)`, `stack_settings(spec)` (the
provider's stack config) and `REVIEW_INPUTS` (what the offline plan shows of each resource);
a new cloud's program is one more module here, with no list to update.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from .errors import StackError
from .spec import StackSpec

_PACKAGE = __name__.rsplit(".", 1)[0]
_REQUIRED = ("program", "stack_settings", "REVIEW_INPUTS")


def program_for(spec: StackSpec) -> Callable[[], None]:
    """A zero-argument Pulumi program that declares `spec`'s fleet on its cloud.

    Only the module of `spec.cloud` is imported (and with it only that cloud's SDK,
    when the program runs), so a user with one cloud never pays for the others.
    """
    program: Callable[[StackSpec], None] = program_module(spec.cloud, spec.fleet).program

    def run() -> None:
        program(spec)

    return run


def program_module(cloud: str, fleet: str | None = None) -> ModuleType:
    """The program module of `cloud`; StackError naming the clouds that have one otherwise."""
    module = _module(cloud)
    if module is None:
        subject = f"fleet {fleet!r}: cloud" if fleet is not None else "cloud"
        raise StackError(
            f"{subject} {cloud!r} has no stack program; "
            f"use one of: {', '.join(program_clouds())} (or the local/ssh backends, which need "
            "no stack)"
        )
    return module


def program_clouds() -> list[str]:
    """The clouds that have a program module, sorted."""
    names = (m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))
    return sorted(name for name in names if _module(name) is not None)


def _module(cloud: str) -> ModuleType | None:
    if not cloud.isidentifier() or importlib.util.find_spec(f"{_PACKAGE}.{cloud}") is None:
        return None
    module = importlib.import_module(f"{_PACKAGE}.{cloud}")
    return module if all(hasattr(module, name) for name in _REQUIRED) else None
