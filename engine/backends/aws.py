"""The aws backend: EC2 offers from gpuhunt's catalog, fleets as stacks of stacks/aws.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .stack import StackBackend

if TYPE_CHECKING:
    from .base import TaggedInstance
    from .config import BackendConfig


class AWSBackend(StackBackend):
    name = "aws"
    lists_tagged_instances = True
    capacity_errors = (  # EC2's error codes (RunInstances, spot requests, service quotas)
        "InsufficientInstanceCapacity",
        "InsufficientCapacity",
        "InstanceLimitExceeded",
        "VcpuLimitExceeded",
        "MaxSpotInstanceCountExceeded",
        "SpotMaxPriceTooLow",
        "InsufficientHostCapacity",
        "Unsupported: Your requested instance type",
    )

    def provider_config(self, entry: BackendConfig | None) -> dict[str, str]:
        """`aws:profile` for `creds: {type: profile, profile: NAME}`."""
        if entry is None or entry.creds.get("type") != "profile":
            return {}
        return {"aws:profile": str(entry.creds["profile"])}

    def tagged_instances(self, entry: BackendConfig | None, project: str) -> list[TaggedInstance]:
        from .aws_instances import tagged_instances

        return tagged_instances(entry, project)

    def terminate_tagged(
        self, entry: BackendConfig | None, instances: list[TaggedInstance]
    ) -> None:
        from .aws_instances import terminate

        terminate(entry, instances)
