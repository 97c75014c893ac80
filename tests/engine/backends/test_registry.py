"""Capabilities are data: every "backends that support X" list, and every refusal, comes
from what the backends declare."""

from __future__ import annotations

import pytest
from fleetstack.engine.backends import registry
from fleetstack.engine.backends.base import Capability, Instance, ProvisionRequest
from fleetstack.engine.errors import FleetstackError
from fleetstack.engine.models.offers import Offer

OFFER = Offer("aws", "us-east-1", "g5.xlarge", 4, "x86", 16.0, 100.0, "nvidia", "A10G", 1, 24.0,
              False, 1.0)  # fmt: skip
INSTANCE = Instance(backend="aws", instance_id="i-1", region="us-east-1")


def test_lists_of_backends_are_derived_from_capabilities():
    assert registry.names_with(Capability.STACK) == ["aws", "gcp", "azure"]
    assert registry.names_with(Capability.LOCAL_JOBS) == ["local"]
    assert "local" not in registry.names_with(Capability.MULTINODE)
    assert set(registry.catalog_providers()) == {
        "aws", "gcp", "azure", "lambdalabs", "runpod", "oci", "nebius", "verda", "cloudrift",
    }  # fmt: skip


def test_every_stack_backend_names_a_program_that_exists():
    from fleetstack.stacks.programs import program_clouds, program_module

    stack_backends = registry.backends_with(Capability.STACK)
    for backend in stack_backends:
        assert backend.stack_program is not None and program_module(backend.stack_program)
    assert sorted(b.stack_program for b in stack_backends) == program_clouds()


def test_a_missing_capability_has_a_reason_a_plan_can_show():
    lambdalabs = registry.get_backend("lambdalabs")
    assert lambdalabs.reason(Capability.STACK) == "cannot be provisioned as a stack yet"
    assert registry.get_backend("aws").reason(Capability.STACK) == ""
    assert "single node" in registry.get_backend("local").reason(Capability.MULTINODE)


def test_verbs_a_backend_cannot_perform_yet_say_what_brings_them():
    with pytest.raises(FleetstackError, match="backend aws: running a job .*SSH execution"):
        registry.get_backend("aws").run_job(INSTANCE, "job-1", "echo hi")
    with pytest.raises(FleetstackError, match="backend ssh: provisioning .*registered"):
        registry.get_backend("ssh").provision(ProvisionRequest("main", "f", OFFER))
    with pytest.raises(FleetstackError, match="backend runpod: provisioning .*stack yet"):
        registry.get_backend("runpod").provision(ProvisionRequest("main", "f", OFFER))


def test_unknown_names_and_double_registration_are_refused():
    with pytest.raises(FleetstackError, match="unknown backend 'nimbus': use one of aws"):
        registry.get_backend("nimbus")
    with pytest.raises(FleetstackError, match="already registered"):
        registry.register(registry.get_backend("aws"))


def test_no_backend_deletes_one_instance_yet_and_each_says_why():
    # engine/services/fleets.py's delete_instance only refuses: a backend that gains the
    # capability must bring the verb there, and this test will tell.
    assert registry.names_with(Capability.INSTANCE_DELETE) == []
    for backend in registry.all_backends():
        assert (
            backend.reason(Capability.INSTANCE_DELETE) != "does not support deleting one instance"
        )
