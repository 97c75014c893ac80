"""The ssh backend: machines listed in a fleet's `ssh_config`; a stub until SSH fleets exist.

It offers nothing and refuses every verb with the feature that brings it.
"""

from __future__ import annotations

from ..base import Backend, Capability, Instance, ProvisionRequest

SSH_FLEETS = "SSH fleets (`ssh_config` hosts detected and registered) are not built yet"


class SSHBackend(Backend):
    name = "ssh"
    reasons = {capability: SSH_FLEETS for capability in Capability}

    def provision(self, request: ProvisionRequest) -> list[Instance]:
        raise self.missing("registering ssh_config hosts", SSH_FLEETS)

    def terminate(self, instances: list[Instance]) -> None:
        raise self.missing("releasing ssh_config hosts", SSH_FLEETS)
