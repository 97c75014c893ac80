"""Clouds provisioned as Pulumi stacks (a program in stacks/): what they share.

A fleet on such a cloud is one stack; engine/fleets builds its StackSpec and drives it.
"""

from __future__ import annotations

from .base import Backend, Capability, Instance, ProvisionRequest

PROVISIONED_BY_FLEET = (
    "its instances are provisioned as the fleet's stack (`dstack apply` of a fleet); "
    "single instances come with the reconciler"
)


class StackBackend(Backend):
    """A cloud with a stack program of the same name in stacks/."""

    capabilities = frozenset(
        {
            Capability.MULTINODE,
            Capability.CLUSTER_PLACEMENT,
            Capability.SPOT,
            Capability.PORTS,
            Capability.STACK,
        }
    )
    reasons = {
        Capability.VOLUMES: "volumes come with the volumes feature",
        Capability.LOCAL_JOBS: "runs no job on this machine",
        Capability.INSTANCE_DELETE: "a fleet's instances are one Pulumi stack of `nodes` "
        "machines, destroyed together",
    }

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__()
        cls.catalog_provider = cls.catalog_provider or cls.name
        cls.stack_program = cls.stack_program or cls.name

    def provision(self, request: ProvisionRequest) -> list[Instance]:
        raise self.missing("provisioning one instance", PROVISIONED_BY_FLEET)

    def terminate(self, instances: list[Instance]) -> None:
        raise self.missing("terminating one instance", PROVISIONED_BY_FLEET)
