"""Errors of the stacks layer; the engine turns them into user-facing messages."""

from __future__ import annotations

import shutil

PULUMI_INSTALL_HINT = (
    "the Pulumi CLI is needed for cloud backends and was not found on PATH: install it with "
    "`curl -fsSL https://get.pulumi.com | sh` (or `brew install pulumi`), then retry; "
    "local runs, `dstack offer` and `dstack apply --dry-run` work without it"
)


class StackError(Exception):
    """A stack operation failed in a way the user can act on; the message says how."""


class PulumiCLIMissing(StackError):
    """The Automation API needs the `pulumi` binary, and it is not installed."""

    def __init__(self) -> None:
        super().__init__(PULUMI_INSTALL_HINT)


def ensure_pulumi_cli() -> str:
    """Return the path of the `pulumi` binary, or raise PulumiCLIMissing."""
    path = shutil.which("pulumi")
    if path is None:
        raise PulumiCLIMissing()
    return path
