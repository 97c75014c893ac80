"""With the Pulumi CLI on PATH, a dry run of a live fleet's change is Pulumi's own preview
against the stack's state, or exit 1 when that state cannot be read; it never creates the
stack. Skips here: the Pulumi CLI cannot be installed on this machine."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from .conftest import applied, fleet_file

pytestmark = pytest.mark.skipif(shutil.which("pulumi") is None, reason="needs the pulumi CLI")


def test_a_dry_run_with_pulumi_reads_the_stack_state_and_creates_no_stack(recording_cli, tmp_path):
    config = fleet_file(tmp_path, nodes="1")
    applied(recording_cli, "-f", str(config), "-y")  # a live fleet, recorded
    home = Path(os.environ["DSTACK_HOME"])
    (home / "config.yml").write_text("backends:\n  - type: aws\n")  # the pulumi engine now
    backend = tmp_path / "pulumi-state"
    backend.mkdir()
    recording_cli.env.update(
        PULUMI_BACKEND_URL=f"file://{backend}",
        PULUMI_CONFIG_PASSPHRASE="test",
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        AWS_ACCESS_KEY_ID="",
        AWS_SECRET_ACCESS_KEY="",
    )
    fleet_file(tmp_path, nodes="2")

    result = recording_cli("plan", "-f", str(config), "--json", "--detailed-exitcode")

    # the stack is not in this backend: the plan is the offline comparison, and no stack
    # was created by looking
    assert result.returncode == 2, result.stderr
    assert '"source": "offline"' in result.stdout
    assert not list(backend.rglob("*.json"))
