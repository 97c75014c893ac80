"""Whether a freshly booted instance is ready: cloud-init's own verdict, read over SSH.

    status = parse_status(run(STATUS_COMMAND).stdout)
    if status.failed:
        raise FleetstackError(boot_error(instance_name, status, run(OUTPUT_TAIL_COMMAND).stdout))

STATUS_COMMAND waits for cloud-init to finish and prints its JSON status (cloud-init 22.4
and later: `status`, `errors`, `detail`; newer ones add `recoverable_errors`). A failed boot
is reported with cloud-init's own errors and the end of its output log, where the failing
command's messages are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

STATUS_COMMAND = "cloud-init status --wait --long --format json"
OUTPUT_LOG = "/var/log/cloud-init-output.log"
OUTPUT_TAIL_LINES = 15
# the end of the log without what cloud-init prints at every boot (host keys, network info)
OUTPUT_TAIL_COMMAND = (
    "sed -e '/BEGIN SSH HOST KEY/,/END SSH HOST KEY/d' -e '/^ec2:/d' -e '/^ci-info:/d' "
    f"-e '/^Cloud-init v. .* finished/d' {OUTPUT_LOG} | tail -n {OUTPUT_TAIL_LINES}"
)


@dataclass(frozen=True)
class BootStatus:
    """cloud-init's status: done, error, running, disabled (or what it printed otherwise)."""

    status: str
    errors: list[str] = field(default_factory=list)
    detail: str = ""

    @property
    def finished(self) -> bool:
        return self.status in ("done", "error", "disabled", "degraded done")

    @property
    def failed(self) -> bool:
        return self.status == "error" or bool(self.errors)


def parse_status(text: str) -> BootStatus:
    """The BootStatus of STATUS_COMMAND's output; unreadable output is status "unknown"."""
    try:
        document = json.loads(text)
    except ValueError:
        return BootStatus("unknown", detail=text.strip()[:500])
    if not isinstance(document, dict):
        return BootStatus("unknown", detail=text.strip()[:500])
    errors = document.get("errors")
    return BootStatus(
        status=str(document.get("status", "unknown")),
        errors=[str(e) for e in errors] if isinstance(errors, list) else [],
        detail=str(document.get("detail", "")),
    )


def boot_error(instance: str, status: BootStatus, output_tail: str) -> str:
    """The message of a failed boot: cloud-init's errors, then the end of its output log."""
    said = "; ".join(status.errors) or status.detail or f"status {status.status}"
    tail = "\n".join(f"  {line}" for line in output_tail.rstrip().splitlines())
    last = f"\nthe end of {OUTPUT_LOG}:\n{tail}" if tail else ""
    return f"instance {instance}: cloud-init failed: {said}{last}"
