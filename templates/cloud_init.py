"""cloud-init user-data: a dict dumped with a SafeDumper, so it is valid YAML for any value."""

from __future__ import annotations

from typing import Any

import yaml

from . import render

# Time systemd gives the job to stop, on top of the job's own grace (container stop, log flush).
_STOP_MARGIN_SECONDS = 30


def build_user_data(
    *,
    job_script: str,
    ssh_public_keys: list[str],
    gpu_vendor: str | None,
    job_script_path: str,
    stop_grace_seconds: int,
) -> str:
    """The "#cloud-config" document for one instance (see render.render_user_data)."""
    if isinstance(ssh_public_keys, str):
        raise ValueError("ssh_public_keys: expected a list of keys, got one string")
    keys = [_check_key(key) for key in ssh_public_keys]
    if not keys:
        # cloud-init rejects an empty list, and an instance nobody can reach is of no use.
        raise ValueError("ssh_public_keys: at least one key is needed to reach the instance")
    nvidia = gpu_vendor == "nvidia"
    unit = render.render_static(
        "fleetstack-job.service.j2",
        job_script_path=render.shell_quote(job_script_path),
        work_dir=render.shell_quote(render.INSTANCE_WORK_DIR),
        log_file=render.shell_quote(render.INSTANCE_JOB_LOG_PATH),
        exit_status_file=render.shell_quote(render.INSTANCE_EXIT_STATUS_PATH),
        timeout_stop=stop_grace_seconds + _STOP_MARGIN_SECONDS,
    )
    setup = render.render_static("setup_instance.sh.j2", nvidia=nvidia)
    document: dict[str, Any] = {
        "ssh_authorized_keys": keys,
        "write_files": [
            {
                "path": job_script_path,
                "encoding": "gz+b64",
                "content": render.gzip_b64(job_script),
                "owner": "root:root",
                "permissions": "0755",
            },
            {
                "path": render.INSTANCE_SETUP_SCRIPT_PATH,
                "encoding": "b64",
                "content": render.b64encode_text(setup),
                "owner": "root:root",
                "permissions": "0755",
            },
            {
                "path": f"/etc/systemd/system/{render.INSTANCE_JOB_UNIT}",
                "content": unit,
                "owner": "root:root",
                "permissions": "0644",
            },
        ],
        "runcmd": [
            ["mkdir", "-p", render.INSTANCE_WORK_DIR],
            ["bash", render.INSTANCE_SETUP_SCRIPT_PATH],
            ["systemctl", "daemon-reload"],
            ["systemctl", "start", "--no-block", render.INSTANCE_JOB_UNIT],
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
