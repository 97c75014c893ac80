import shutil

import pytest
from fleetstack.stacks.driver import StackDriver, outputs_from, stack_config, stack_name_for
from fleetstack.stacks.errors import PULUMI_INSTALL_HINT, PulumiCLIMissing
from fleetstack.stacks.spec import StackSpec

from ..helpers import moto_server

SPEC = StackSpec(
    project="main", fleet="train", cloud="aws", region="us-east-1",
    instance_type="t3.micro", ssh_public_key="ssh-ed25519 AAAA test", user_data="#cloud-config\n",
)  # fmt: skip
needs_cli = pytest.mark.skipif(shutil.which("pulumi") is None, reason="pulumi CLI not on PATH")


def test_every_method_raises_pulumi_cli_missing_without_the_cli(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    driver = StackDriver(backend_url=f"file://{tmp_path}")
    calls = [
        lambda: driver.preview(SPEC),
        lambda: driver.up(SPEC),
        lambda: driver.destroy("main", "train", "aws"),
        lambda: driver.cancel("main", "train", "aws"),
        driver.list_stacks,
    ]
    for call in calls:
        with pytest.raises(PulumiCLIMissing) as info:
            call()
        assert str(info.value) == PULUMI_INSTALL_HINT
        assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_stack_config_carries_region_spec_and_provider_overrides():
    config = stack_config(SPEC, {"aws:skipCredentialsValidation": True})
    assert config["aws:region"].value == "us-east-1"
    assert '"fleet": "train"' in config["fleetstack:spec"].value
    assert config["aws:skipCredentialsValidation"].value == "true"
    assert stack_name_for("main", "train", "aws") == SPEC.stack_name


def test_outputs_are_typed():
    class Value:
        def __init__(self, value):
            self.value = value

    outputs = outputs_from({"instance_ids": Value(["i-1"]), "public_ips": Value(["1.2.3.4"])})
    assert outputs.instance_ids == ["i-1"] and outputs.public_ips == ["1.2.3.4"]
    assert outputs.private_ips == [] and outputs.ssh_user == ""


@pytest.fixture
def moto_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@needs_cli
def test_preview_up_destroy_against_moto(moto_endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    endpoints = [{s: moto_endpoint for s in ("ec2", "sts", "iam")}]
    driver = StackDriver(
        backend_url=f"file://{tmp_path}",
        work_dir=tmp_path,
        provider_config={
            "aws:endpoints": endpoints,
            "aws:skipCredentialsValidation": True,
            "aws:skipRequestingAccountId": True,
            "aws:skipMetadataApiCheck": True,
        },
    )
    diff = driver.preview(SPEC)
    assert diff.counts["create"] >= 1 and diff.state_compared
    lines: list[str] = []
    outputs = driver.up(SPEC, on_output=lines.append)
    assert lines and len(outputs.instance_ids) == SPEC.nodes
    assert not driver.preview(SPEC).has_changes
    driver.destroy("main", "train", "aws")
    driver.destroy("main", "train", "aws")  # idempotent


def test_concurrent_update_becomes_a_stack_error_with_the_cancel_step():
    from fleetstack.stacks.driver import _translated_errors
    from fleetstack.stacks.errors import StackError
    from pulumi import automation as auto

    result = auto.CommandResult(
        stdout="", stderr="[409] Conflict: Another update is in progress", code=255
    )
    with pytest.raises(StackError, match="dstack fleet cancel train"), _translated_errors("train"):
        raise auto.ConcurrentUpdateError(result)
