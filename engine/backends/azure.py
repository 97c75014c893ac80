"""The azure backend: VM offers from gpuhunt's catalog, stacks of stacks/azure.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .stack import StackBackend

if TYPE_CHECKING:
    from .config import BackendConfig


class AzureBackend(StackBackend):
    name = "azure"
    capacity_errors = (  # Azure Resource Manager's error codes
        "SkuNotAvailable",
        "AllocationFailed",
        "ZonalAllocationFailed",
        "OverconstrainedAllocationRequest",
        "QuotaExceeded",
        "exceeding approved",  # "Operation could not be completed as it results in exceeding
    )  # approved <family> Cores quota"

    def provider_config(self, entry: BackendConfig | None) -> dict[str, str]:
        """`azure-native:subscriptionId` from `subscription_id:`."""
        if entry is None or not entry.extra.get("subscription_id"):
            return {}
        return {"azure-native:subscriptionId": str(entry.extra["subscription_id"])}
