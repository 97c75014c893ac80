"""The aws backend: EC2 offers from gpuhunt's catalog, fleets as stacks of stacks/aws.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .stack import StackBackend

if TYPE_CHECKING:
    from .config import BackendConfig


class AWSBackend(StackBackend):
    name = "aws"

    def provider_config(self, entry: BackendConfig | None) -> dict[str, str]:
        """`aws:profile` for `creds: {type: profile, profile: NAME}`."""
        if entry is None or entry.creds.get("type") != "profile":
            return {}
        return {"aws:profile": str(entry.creds["profile"])}
