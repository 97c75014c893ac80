"""The project key (and only it) reaches a booted instance over SSH as the image's user, with
password login off; the nodes of a two-node user-data reach each other on private addresses."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fleetstack.templates.render import INSTANCE_EXIT_STATUS_PATH

from .harness import LOCAL_IMAGE, SSH_USER, Instance

SSH_TIMEOUT = 60.0


def ssh(instance: Instance, key: Path, user: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "ssh", "-F", "/dev/null", "-i", str(key), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR", *extra, f"{user}@{instance.ip}", "id -un",
        ],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def wait_for_sshd(instance: Instance) -> None:
    instance.wait_for(
        lambda: instance.run(["systemctl", "is-active", "ssh"]).stdout.strip() == "active",
        SSH_TIMEOUT,
        "active ssh.service",
    )


def test_only_the_project_key_logs_in_as_the_image_user(boot, task_user_data, ssh_key):
    project_private, project_public = ssh_key("project")
    other_private, _ = ssh_key("someone-else")
    instance = boot(task_user_data("type: task\ncommands:\n  - 'true'\n", project_public))
    wait_for_sshd(instance)

    allowed = ssh(instance, project_private, SSH_USER)
    assert (allowed.returncode, allowed.stdout.strip()) == (0, SSH_USER), allowed.stderr

    refused = ssh(instance, other_private, SSH_USER)
    assert refused.returncode == 255 and "Permission denied" in refused.stderr
    as_root = ssh(instance, project_private, "root")
    assert as_root.returncode != 0 or as_root.stdout.strip() != "root"
    authorized = instance.read(f"/home/{SSH_USER}/.ssh/authorized_keys").decode().splitlines()
    assert [line for line in authorized if line.strip()] == [project_public]


def test_password_login_is_off(boot, task_user_data, ssh_key):
    _, public_key = ssh_key("project")
    instance = boot(task_user_data("type: task\ncommands:\n  - 'true'\n", public_key))
    wait_for_sshd(instance)

    effective = instance.run(["/usr/sbin/sshd", "-T"]).stdout.lower().splitlines()
    assert "passwordauthentication no" in effective
    assert "kbdinteractiveauthentication no" in effective
    # the server offers a client that has no key nothing but public keys
    nokey = subprocess.run(
        [
            "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no",
            "-o", "ConnectTimeout=10", f"{SSH_USER}@{instance.ip}", "true",
        ],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert "Permission denied (publickey)" in nokey.stderr, nokey.stderr


def test_two_nodes_reach_each_other_on_private_addresses(boot, task_user_data, ssh_key):
    _, public_key = ssh_key("project")
    user_data = task_user_data(
        f"type: task\nnodes: 2\nimage: {LOCAL_IMAGE}\ncommands:\n  - env -0 > env.bin\n",
        public_key,
        run_name="vm-pair",
    )
    first = boot(user_data, wait=False)
    second = boot(user_data, wait=False)
    for instance in (first, second):
        instance.wait_boot_finished()
        assert instance.wait_file(INSTANCE_EXIT_STATUS_PATH) == b"0\n"
        assert b"DSTACK_NODES_NUM=2\0" in instance.read("/opt/fleetstack/work/env.bin")

    for source, target in ((first, second), (second, first)):
        own = source.run(["ip", "-4", "-o", "addr", "show", "eth0"]).stdout
        assert f"inet {source.ip}/24" in own
        ping = source.run(["ping", "-c", "1", "-W", "5", target.ip])
        assert ping.returncode == 0, ping.stdout + ping.stderr
        # sshd of the other node answers on its private address
        banner = source.run(
            ["bash", "-c", f"exec 3<>/dev/tcp/{target.ip}/22 && head -c 8 <&3"], timeout=30
        )
        assert banner.stdout.startswith("SSH-2.0-"), banner.stderr
        # and nothing routes off the bench's /24
        assert "default" not in source.run(["ip", "route"]).stdout
