"""The gcp backend: Compute Engine offers from gpuhunt's catalog, stacks of stacks/gcp.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .stack import StackBackend

if TYPE_CHECKING:
    from .config import BackendConfig


class GCPBackend(StackBackend):
    name = "gcp"
    capacity_errors = (  # Compute Engine's error reasons
        "ZONE_RESOURCE_POOL_EXHAUSTED",
        "QUOTA_EXCEEDED",
        "does not have enough resources available",
        "Quota '",
    )

    def provider_config(self, entry: BackendConfig | None) -> dict[str, str]:
        """`gcp:project` from `project_id:`, `gcp:credentials` from the creds' key file."""
        if entry is None:
            return {}
        settings: dict[str, str] = {}
        if entry.extra.get("project_id"):
            settings["gcp:project"] = str(entry.extra["project_id"])
        if entry.creds.get("filename"):
            settings["gcp:credentials"] = str(entry.creds["filename"])
        return settings
