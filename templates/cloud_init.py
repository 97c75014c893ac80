"""cloud-init user-data: a dict dumped with a SafeDumper, so it is valid YAML for any value."""

from __future__ import annotations

import posixpath
import re

import yaml

from . import render
from .backstop import Backstop, locked_command
from .jobspec import JobInput
from .render import INSTANCE_JOB_SCRIPT_PATH, render_job_script

# Time systemd gives the job to stop, on top of the job's own grace (container stop, log flush).
_STOP_MARGIN_SECONDS = 30
_SAFE_PATH = re.compile(r"/[A-Za-z0-9_./-]+")


def render_user_data(
    job: JobInput,
    *,
    ssh_public_keys: list[str],
    gpu_vendor: str | None,
    job_script_path: str = INSTANCE_JOB_SCRIPT_PATH,
    backstop: Backstop | None = None,
) -> str:
    """cloud-init user-data ("#cloud-config" YAML) that prepares an instance and starts the job.

    It authorizes ssh_public_keys for the image's default user (password and root logins
    off), installs and starts docker
    (plus the NVIDIA container toolkit when gpu_vendor is "nvidia"), writes the job script to
    job_script_path and starts it as the systemd unit fleetstack-job.service, which runs in
    /opt/fleetstack/work, logs to the journal and /var/log/fleetstack/job.log and records the
    exit status in /var/lib/fleetstack/exit-status. With a `backstop`, it also installs the
    timer that powers an unattended idle instance off (templates/backstop.py).

    The user-data holds no secret env value: the job script reads those from job.env beside
    it (INSTANCE_JOB_ENV_PATH), uploaded over SSH as a 0600 file.

    Raises ValueError when ssh_public_keys is empty or holds an empty or multi-line key, and
    for any job value render_job_script refuses.
    """
    if not _SAFE_PATH.fullmatch(job_script_path):
        raise ValueError(
            f"job_script_path: {job_script_path!r} must be an absolute path of letters, "
            "digits and ._/-"
        )
    return build_user_data(
        job_script=render_job_script(job, gpu_vendor=gpu_vendor),
        ssh_public_keys=ssh_public_keys,
        gpu_vendor=gpu_vendor,
        job_script_path=job_script_path,
        stop_grace_seconds=job.stop_grace_seconds,
        wait_for_env_file=bool(job.secret_env),
        backstop=backstop,
    )


def build_user_data(
    *,
    job_script: str,
    ssh_public_keys: list[str],
    gpu_vendor: str | None,
    job_script_path: str,
    stop_grace_seconds: int,
    wait_for_env_file: bool = False,
    backstop: Backstop | None = None,
) -> str:
    """The "#cloud-config" document for one instance (see render_user_data).

    With `wait_for_env_file` (the job has secret env values) the job starts when its
    job.env appears beside the script (a systemd path unit), i.e. once it was uploaded over
    SSH, instead of at boot."""
    if isinstance(ssh_public_keys, str):
        raise ValueError("ssh_public_keys: expected a list of keys, got one string")
    keys = [_check_key(key) for key in ssh_public_keys]
    if not keys:
        # cloud-init rejects an empty list, and an instance nobody can reach is of no use.
        raise ValueError("ssh_public_keys: at least one key is needed to reach the instance")
    nvidia = gpu_vendor == "nvidia"
    unit = render.render_static(
        "fleetstack-job.service.j2",
        locked_job=locked_command(job_script_path),
        work_dir=render.shell_quote(render.INSTANCE_WORK_DIR),
        log_file=render.shell_quote(render.INSTANCE_JOB_LOG_PATH),
        exit_status_file=render.shell_quote(render.INSTANCE_EXIT_STATUS_PATH),
        timeout_stop=stop_grace_seconds + _STOP_MARGIN_SECONDS,
    )
    setup = render.render_static("setup_instance.sh.j2", nvidia=nvidia)
    start_unit = render.INSTANCE_JOB_UNIT
    extra_files: list[dict[str, str]] = []
    if wait_for_env_file:
        start_unit = render.INSTANCE_JOB_UNIT.removesuffix(".service") + ".path"
        env_file = posixpath.join(posixpath.dirname(job_script_path), "job.env")
        path_unit = render.render_static(
            "fleetstack-job.path.j2",
            env_file=render.shell_quote(env_file),
            unit=render.shell_quote(render.INSTANCE_JOB_UNIT),
        )
        extra_files.append(
            {
                "path": f"/etc/systemd/system/{start_unit}",
                "content": path_unit,
                "owner": "root:root",
                "permissions": "0644",
            }
        )
    document: dict[str, object] = {  # plain values: what a SafeDumper writes
        "ssh_authorized_keys": keys,
        # keys only: no password login for anyone, and no root login (the image's user sudoes)
        "ssh_pwauth": False,
        "disable_root": True,
        "write_files": [
            {
                "path": job_script_path,
                "encoding": "gz+b64",
                "content": render.gzip_b64(job_script),
                "owner": "root:root",
                "permissions": "0700",  # owner-only, as is the job.env uploaded beside it
            },
            {
                "path": render.INSTANCE_SETUP_SCRIPT_PATH,
                "encoding": "b64",
                "content": render.b64encode_text(setup),
                "owner": "root:root",
                "permissions": "0700",
            },
            {
                "path": f"/etc/systemd/system/{render.INSTANCE_JOB_UNIT}",
                "content": unit,
                "owner": "root:root",
                "permissions": "0644",
            },
            *extra_files,
            *(backstop.write_files() if backstop else []),
        ],
        "runcmd": [
            ["mkdir", "-p", render.INSTANCE_WORK_DIR],
            ["systemctl", "daemon-reload"],
            # the backstop first: a setup that fails or hangs is covered too
            *(backstop.runcmd() if backstop else []),
            ["bash", render.INSTANCE_SETUP_SCRIPT_PATH],
            ["systemctl", "start", "--no-block", start_unit],
        ],
    }
    body = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=False,
        width=1 << 20,
    )
    return "#cloud-config\n" + body


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValueError("ssh_public_keys: an empty key was given")
    key = key.strip()
    if "\n" in key or "\r" in key or "\x00" in key:
        raise ValueError("ssh_public_keys: a key must be one line (type, base64 key, comment)")
    return key


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line text (the unit file) as a literal block."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
