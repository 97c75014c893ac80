import stat

import pytest
from fleetstack.stacks.errors import StackError
from fleetstack.stacks.settings import backend_url, passphrase_env, read_or_create_passphrase


def test_default_backend_is_a_folder_under_dstack_home(monkeypatch, tmp_path):
    monkeypatch.setenv("DSTACK_HOME", str(tmp_path))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    assert backend_url() == f"file://{tmp_path}/pulumi"
    assert (tmp_path / "pulumi").is_dir()


def test_env_and_explicit_backends(monkeypatch):
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://bucket/state")
    assert backend_url() == "s3://bucket/state"
    assert backend_url("https://api.pulumi.com") == "https://api.pulumi.com"
    with pytest.raises(StackError, match="not supported"):
        backend_url("ftp://x")


def test_passphrase_generated_once_0600_never_overwritten(monkeypatch, tmp_path):
    monkeypatch.setenv("DSTACK_HOME", str(tmp_path))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    first = passphrase_env()["PULUMI_CONFIG_PASSPHRASE"]
    path = tmp_path / "pulumi-passphrase"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert passphrase_env()["PULUMI_CONFIG_PASSPHRASE"] == first and len(first) >= 32


def test_passphrase_from_env_and_file(monkeypatch, tmp_path):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-env")
    assert passphrase_env() == {"PULUMI_CONFIG_PASSPHRASE": "from-env"}
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    secret = tmp_path / "pp"
    secret.write_text("mine\n")
    secret.chmod(0o600)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(secret))
    assert passphrase_env() == {"PULUMI_CONFIG_PASSPHRASE": "mine"}


def test_world_readable_passphrase_file_is_refused(tmp_path):
    secret = tmp_path / "pp"
    secret.write_text("mine\n")
    secret.chmod(0o644)
    with pytest.raises(StackError, match="chmod 600"):
        read_or_create_passphrase(secret)
    assert secret.read_text() == "mine\n"
