"""The ssh backend: machines listed in a fleet's `ssh_config`.

Its hosts are registered, not provisioned: `dstack apply` of the fleet contacts them over
SSH and records them (engine/fleets/ssh.py); jobs reach them through engine/remote. It
offers nothing from a catalog: a run uses its hosts by `fleets: [NAME]`, or as idle
instances that fit.
"""

from __future__ import annotations

from ..base import Backend, Capability, Instance, ProvisionRequest

REGISTERED = (
    "its hosts are registered, not provisioned: list them under ssh_config.hosts of a "
    "`type: fleet` and `dstack apply` it"
)


class SSHBackend(Backend):
    name = "ssh"
    capabilities = frozenset({Capability.MULTINODE, Capability.CLUSTER_PLACEMENT, Capability.PORTS})
    reasons = {
        Capability.STACK: REGISTERED,
        Capability.SPOT: "your own machines are never interrupted for capacity",
        Capability.VOLUMES: "volumes are not implemented",
        Capability.LOCAL_JOBS: "runs jobs on its hosts over SSH, not on this machine",
        Capability.INSTANCE_DELETE: "delete the whole fleet: that unregisters its hosts",
    }
    has_instance_types = False

    def provision(self, request: ProvisionRequest) -> list[Instance]:
        raise self.missing("provisioning", REGISTERED)

    def terminate(self, instances: list[Instance]) -> None:
        raise self.missing("terminating hosts", "`dstack fleet delete NAME` unregisters them")
