"""The SSH connection layer against real sshd daemons: commands, host keys, errors."""

from __future__ import annotations

import subprocess

import pytest
from fleetstack.engine.remote.connection import Connection, SSHError, SSHTarget, known_hosts_path

from .conftest import free_port


def target(daemon) -> SSHTarget:
    return SSHTarget(daemon.address, port=daemon.port, user="root")


def test_a_command_runs_and_the_host_key_is_recorded_at_first_contact(sshd):
    daemon = sshd()
    with Connection(target(daemon)) as conn:
        result = conn.run("printf '%s' \"$HOME\"; echo err >&2; exit 3", stdin=None)
    assert (result.returncode, result.text(), result.stderr) == (3, str(daemon.home), b"err\n")
    recorded = known_hosts_path().read_text().split()
    host_public = (daemon.dir / "host_key.pub").read_text().split()
    assert recorded == [f"[127.0.0.1]:{daemon.port}", *host_public[:2]]
    assert oct(known_hosts_path().parent.stat().st_mode & 0o777) == "0o700"
    with Connection(target(daemon)) as again:  # the recorded key is accepted
        assert again.run("true").returncode == 0


def test_stdin_reaches_the_command_byte_for_byte(sshd):
    daemon = sshd()
    payload = bytes(range(256)) * 1000
    with Connection(target(daemon)) as conn:
        result = conn.run("cat", stdin=payload)
    assert result.stdout == payload


def test_a_changed_host_key_is_refused_naming_the_host(sshd):
    daemon = sshd()
    Connection(target(daemon)).close()
    daemon.stop()
    for name in ("host_key", "host_key.pub"):
        (daemon.dir / name).unlink()
    reinstalled = sshd(port=daemon.port)  # the same address with a new host key
    assert reinstalled.host_key.read_bytes() != b""
    with pytest.raises(SSHError) as refused:
        Connection(target(reinstalled))
    message = str(refused.value)
    assert f"root@127.0.0.1:{daemon.port}" in message and "CHANGED" in message
    assert str(known_hosts_path()) in message


def test_an_unreachable_host_is_named_with_the_reason():
    port = free_port()
    with pytest.raises(SSHError) as failed:
        Connection(SSHTarget("127.0.0.1", port=port, user="root"))
    assert str(failed.value) == (
        f"root@127.0.0.1:{port}: connection refused (is sshd running on that port?)"
    )


def test_a_key_the_host_does_not_know_is_an_authentication_error(sshd, tmp_path):
    daemon = sshd()
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    with pytest.raises(SSHError) as failed:
        Connection(SSHTarget("127.0.0.1", port=daemon.port, user="root", identity_file=str(other)))
    assert "authentication failed" in str(failed.value)


def test_proxy_jump_reaches_the_host_through_the_jump_host(sshd):
    jump, host = sshd("jump"), sshd("inner")
    via = SSHTarget("127.0.0.1", port=host.port, user="root", proxy_jump=target(jump))
    with Connection(via) as conn:
        assert conn.run('printf %s "$HOME"').text() == str(host.home)
        assert jump.session_pids(), "no session on the jump host"
    assert len(known_hosts_path().read_text().splitlines()) == 2
