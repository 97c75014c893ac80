"""cloud-init's verdict on a booted instance, read as the engine reads it over SSH
(engine/fleets/boot.py): our user-data boots `done`; a failing command is reported with
cloud-init's own error and the command's own words from the end of its output log."""

from __future__ import annotations

from fleetstack.engine.fleets.boot import (
    OUTPUT_TAIL_COMMAND,
    STATUS_COMMAND,
    boot_error,
    parse_status,
)


def test_our_user_data_boots_done(boot, task_user_data, ssh_key):
    _, public_key = ssh_key("project")
    instance = boot(task_user_data("type: task\ncommands: [echo hi]\n", public_key))

    status = parse_status(instance.sh(STATUS_COMMAND).stdout)

    assert (status.status, status.errors, status.failed) == ("done", [], False)


def test_a_failed_boot_names_cloud_init_s_error_and_the_command_s_words(boot, ssh_key):
    _, public_key = ssh_key("project")
    instance = boot(
        f"#cloud-config\nssh_authorized_keys: ['{public_key}']\n"
        "runcmd:\n  - [sh, -c, 'echo setup-went-wrong >&2; exit 3']\n"
    )

    status = parse_status(instance.sh(STATUS_COMMAND).stdout)
    message = boot_error(instance.name, status, instance.sh(OUTPUT_TAIL_COMMAND).stdout)

    assert status.failed and status.finished
    assert "runcmd" in message and "cloud-init failed" in message
    assert "setup-went-wrong" in message
