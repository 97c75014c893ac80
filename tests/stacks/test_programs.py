"""program_for: the right cloud module, imported lazily, and a clear error for others."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fleetstack.stacks.errors import StackError
from fleetstack.stacks.programs import program_for


def test_an_unknown_cloud_is_a_stack_error_naming_the_supported_ones(make_spec):
    spec = make_spec("oci")
    with pytest.raises(StackError, match=r"cloud 'oci' has no stack program; use one of: aws"):
        program_for(spec)


def test_getting_a_program_imports_no_pulumi_sdk():
    # `dstack --help` and plans that never run a program must not pay for the cloud SDKs
    code = """
import json, sys
from fleetstack.stacks.programs import program_for
from fleetstack.stacks.spec import StackSpec
for cloud in ("aws", "gcp", "azure"):
    program = program_for(StackSpec("p", "f", cloud, "r", "t", "ssh-ed25519 AAAA k", ""))
    assert callable(program)
sdks = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native")
print(json.dumps([name for name in sdks if name in sys.modules]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_the_program_runs_the_clouds_module_with_the_spec(make_spec, run_program):
    ev = run_program(make_spec("gcp", instance_type="e2-small", nodes=2))
    assert ev.types().count("gcp:compute/instance:Instance") == 2
