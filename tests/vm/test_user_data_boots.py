"""Our user-data, booted by real cloud-init in a systemd-nspawn instance: every assertion reads
the instance itself (its files, systemd's view of its units, cloud-init's own status)."""

from __future__ import annotations

import json
import re

from fleetstack.engine.models.jobs import default_image
from fleetstack.templates.render import (
    INSTANCE_EXIT_STATUS_PATH,
    INSTANCE_JOB_LOG_PATH,
    INSTANCE_JOB_UNIT,
    INSTANCE_WORK_DIR,
)

from .harness import LOCAL_IMAGE, Instance

JOB_TIMEOUT = 120.0
# The commands leave what they saw in their working directory (the instance's work dir).
REPORT_COMMANDS = """\
  - pwd > pwd.txt
  - printf '%s' "$DSTACK_WORKING_DIR" > working-dir.txt
  - test -f /.dockerenv && echo container > where.txt
  - env -0 > env.bin
  - echo "args:" ${{ run.args }}
  - echo job output line
"""


def job_env(instance: Instance) -> dict[str, str]:
    raw = instance.read(f"{INSTANCE_WORK_DIR}/env.bin").decode()
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def unit_result(instance: Instance) -> dict[str, str]:
    shown = instance.run(
        ["systemctl", "show", INSTANCE_JOB_UNIT, "-p", "Result", "-p", "ExecMainStatus"]
    ).stdout
    return dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)


def assert_cloud_init_clean(instance: Instance) -> None:
    """cloud-init finished `done`, found our config valid, and warned about nothing."""
    status = instance.cloud_init_status()
    assert re.search(r"^status: done$", status, re.M), status
    schema = instance.run(["cloud-init", "schema", "--system"])
    assert schema.returncode == 0, schema.stdout + schema.stderr
    log = instance.read("/var/log/cloud-init.log").decode(errors="replace")
    warnings = [line for line in log.splitlines() if " WARNING" in line or " ERROR" in line]
    assert not warnings, "\n".join(warnings)


def test_a_task_with_the_local_image_runs_its_commands_in_docker(boot, task_user_data, ssh_key):
    _, public_key = ssh_key("project")
    user_data = task_user_data(
        f"type: task\nimage: {LOCAL_IMAGE}\nenv:\n  - GREETING=hello vm\ncommands:\n"
        + REPORT_COMMANDS,
        public_key,
        run_args=["--epochs", "3"],
        run_name="vm-image",
    )
    instance = boot(user_data)

    status = instance.wait_file(INSTANCE_EXIT_STATUS_PATH, JOB_TIMEOUT)

    assert status == b"0\n"
    assert_cloud_init_clean(instance)
    assert instance.run(["systemctl", "is-active", "docker"]).stdout.strip() == "active"
    assert unit_result(instance) == {"Result": "success", "ExecMainStatus": "0"}
    assert instance.read(f"{INSTANCE_WORK_DIR}/where.txt") == b"container\n"
    env = job_env(instance)
    assert env["GREETING"] == "hello vm"
    assert env["DSTACK_RUN_NAME"] == "vm-image"
    assert env["DSTACK_RUN_ID"] == "0123456789abcdef0123456789abcdef"
    assert (env["DSTACK_NODES_NUM"], env["DSTACK_GPUS_NUM"]) == ("1", "0")
    # the working directory is the instance's work dir, as the container mounts it
    assert (
        instance.read(f"{INSTANCE_WORK_DIR}/pwd.txt").decode().strip() == env["DSTACK_WORKING_DIR"]
    )
    assert instance.read(f"{INSTANCE_WORK_DIR}/working-dir.txt").decode() == "/workflow"
    log = instance.read(INSTANCE_JOB_LOG_PATH)
    assert b"args: --epochs 3\n" in log
    assert b"job output line\n" in log
    assert "job output line" in instance.journal(INSTANCE_JOB_UNIT)


def test_a_task_without_image_runs_in_the_default_image(boot, task_user_data, ssh_key):
    _, public_key = ssh_key("project")
    user_data = task_user_data("type: task\ncommands:\n" + REPORT_COMMANDS, public_key)
    # no registry here: the instance's docker has the default image's name for the local one
    instance = boot(user_data, image_tags=[default_image(None)])

    status = instance.wait_file(INSTANCE_EXIT_STATUS_PATH, JOB_TIMEOUT)

    assert status == b"0\n", instance.journal(INSTANCE_JOB_UNIT)
    assert_cloud_init_clean(instance)
    assert instance.read(f"{INSTANCE_WORK_DIR}/where.txt") == b"container\n"
    assert job_env(instance)["DSTACK_RUN_NAME"] == "vm-task"
    assert b"args:\n" in instance.read(INSTANCE_JOB_LOG_PATH)


def test_a_failing_command_gives_its_exit_code(boot, task_user_data, ssh_key):
    _, public_key = ssh_key("project")
    commands = "  - echo before\n  - sh -c 'exit 7'\n  - echo never > after.txt\n"
    user_data = task_user_data(
        f"type: task\nimage: {LOCAL_IMAGE}\ncommands:\n{commands}", public_key
    )
    instance = boot(user_data)

    status = instance.wait_file(INSTANCE_EXIT_STATUS_PATH, JOB_TIMEOUT)

    assert status == b"7\n"
    assert unit_result(instance) == {"Result": "exit-code", "ExecMainStatus": "7"}
    assert instance.read(INSTANCE_JOB_LOG_PATH).startswith(b"before\n")
    assert not instance.exists(f"{INSTANCE_WORK_DIR}/after.txt")


HOSTILE = {
    "QUOTES": 'it\'s "quoted" \\ done',
    "SUBSHELL": "$(touch pwned-subshell)",
    "BACKTICKS": "`touch pwned-backticks`",
    "NEWLINES": "line one\nline two\n\n; touch pwned-newline",
    "BRACES": "${HOME} $$ ${{ not interpolated }}",
}


def test_hostile_env_values_arrive_byte_for_byte_and_run_nothing(boot, task_user_data, ssh_key):
    _, public_key = ssh_key("project")
    env_lines = "".join(
        f"  {name}: {json.dumps(value.replace('${{', '$${{'))}\n" for name, value in HOSTILE.items()
    )
    commands = "".join(f"  - printf '%s' \"${name}\" > {name}.txt\n" for name in HOSTILE)
    user_data = task_user_data(
        f"type: task\nimage: {LOCAL_IMAGE}\nenv:\n{env_lines}commands:\n{commands}",
        public_key,
    )
    instance = boot(user_data)

    assert instance.wait_file(INSTANCE_EXIT_STATUS_PATH, JOB_TIMEOUT) == b"0\n"

    for name, value in HOSTILE.items():
        assert instance.read(f"{INSTANCE_WORK_DIR}/{name}.txt") == value.encode(), name
    made = instance.sh(f"find / -xdev -name 'pwned*' 2>/dev/null; ls {INSTANCE_WORK_DIR}").stdout
    assert "pwned" not in made
