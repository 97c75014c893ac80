"""The backstop on an instance: it powers itself off when nobody looks after it any more.

A fleetstack reconciler that reaches an instance over SSH renews its lease (RENEW_COMMAND
touches LEASE_PATH). Every `interval_seconds` the fleetstack-backstop.timer runs
backstop.sh, which powers the machine off when BOTH hold:

- no job has run on it for `idle_seconds` (the fleet's idle duration plus MARGIN_SECONDS):
  a job holds JOB_LOCK_PATH (a shared flock, taken by `locked_command`) while it runs, and
  the backstop records each time it sees it held;
- no reconciler has renewed the lease for `lease_seconds` (LEASE_SECONDS by default).

So a laptop that dies while a GPU instance runs a job lets the job finish; the instance
then powers off at most idle duration + margin + lease deadline + one interval after the
job ended (default: 5 min + 5 min + 15 min + 1 min for a fleet created for a run). The
clouds' programs make a guest power-off end the billing where they can (stacks/aws.py:
EC2 terminates the instance; stacks/gcp.py and stacks/azure.py say what theirs do).
A fleet whose idle duration is `off` gets no backstop: it was asked to stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import render

STATE_DIR = "/var/lib/fleetstack"
LEASE_PATH = f"{STATE_DIR}/lease"
ACTIVITY_PATH = f"{STATE_DIR}/activity"
JOB_LOCK_PATH = f"{STATE_DIR}/job.lock"
CHECKS_PATH = f"{STATE_DIR}/backstop-checks"  # one line per check: "<epoch> <idle> <lease>"
CONFIG_PATH = "/etc/fleetstack/backstop.conf"
SCRIPT_PATH = "/opt/fleetstack/backstop.sh"
TIMER_UNIT = "fleetstack-backstop.timer"
SERVICE_UNIT = "fleetstack-backstop.service"
START_LEASE_COMMAND = f"mkdir -p {STATE_DIR} && touch {LEASE_PATH}"  # at boot, as root
# what a reconciler runs over SSH, as the instance's SSH user (sudo on cloud images)
RENEW_COMMAND = f"touch {LEASE_PATH} 2>/dev/null || sudo -n touch {LEASE_PATH}"

MARGIN_SECONDS = 300
LEASE_SECONDS = 900
INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Backstop:
    """When an unattended instance powers itself off (see the module's text)."""

    idle_seconds: int
    lease_seconds: int = LEASE_SECONDS
    interval_seconds: int = INTERVAL_SECONDS

    @classmethod
    def for_idle_duration(cls, idle_duration: int | None) -> Backstop | None:
        """The backstop of a fleet idling `idle_duration` seconds (None: `off`, no backstop)."""
        if idle_duration is None:
            return None
        return cls(idle_seconds=max(0, idle_duration) + MARGIN_SECONDS)

    @property
    def deadline_seconds(self) -> int:
        """The longest an idle instance with no reconciler stays up."""
        return max(self.idle_seconds, self.lease_seconds) + self.interval_seconds

    def write_files(self) -> list[dict[str, object]]:
        """cloud-init write_files entries: the script, its settings, the timer and service."""
        for name, value in vars(self).items():
            if (
                not isinstance(value, int)
                or value < 0
                or (name == "interval_seconds" and not value)
            ):
                raise ValueError(
                    f"backstop {name}: expected a whole number of seconds, got {value}"
                )
        settings = f"IDLE_SECONDS={self.idle_seconds}\nLEASE_SECONDS={self.lease_seconds}\n"
        files = {
            SCRIPT_PATH: ("0700", render.render_static("backstop.sh.j2", **_paths())),
            CONFIG_PATH: ("0600", settings),
            f"/etc/systemd/system/{SERVICE_UNIT}": (
                "0644",
                render.render_static("fleetstack-backstop.service.j2", script=SCRIPT_PATH),
            ),
            f"/etc/systemd/system/{TIMER_UNIT}": (
                "0644",
                render.render_static(
                    "fleetstack-backstop.timer.j2", interval=self.interval_seconds
                ),
            ),
        }
        return [
            {"path": path, "content": content, "owner": "root:root", "permissions": mode}
            for path, (mode, content) in files.items()
        ]

    def runcmd(self) -> list[list[str]]:
        """cloud-init runcmd entries (after `systemctl daemon-reload`): lease, then timer."""
        return [
            ["sh", "-c", START_LEASE_COMMAND],  # the lease counts from the boot
            ["systemctl", "enable", "--now", TIMER_UNIT],
        ]


def locked_command(script_path: str) -> str:
    """A shell command running `bash script_path` while holding the shared job lock, so the
    backstop sees the job as running for as long as it (or anything it started) lives. The
    lock is taken on fd 9 and the shell then becomes the job script (signals reach it)."""
    lock, script = render.shell_quote(JOB_LOCK_PATH), render.shell_quote(script_path)
    return f"mkdir -p {STATE_DIR}; exec 9>>{lock}; flock -s 9; exec /bin/bash {script}"


def _paths() -> dict[str, str]:
    return {
        "state_dir": STATE_DIR,
        "lease": LEASE_PATH,
        "activity": ACTIVITY_PATH,
        "job_lock": JOB_LOCK_PATH,
        "checks": CHECKS_PATH,
        "config": CONFIG_PATH,
    }
