"""dstack's delays between resubmissions of a pending run (light: `dstack ps` shows the next
attempt without loading the lifecycle)."""

from __future__ import annotations

from datetime import datetime, timedelta

# The n-th resubmission waits the n-th delay after the previous submission ended; the last
# one repeats.
RETRY_DELAYS_SECONDS: tuple[int, ...] = (15, 30, 60, 120, 300, 600)


def retry_delay(attempt: int) -> timedelta:
    """dstack's wait before the `attempt`-th resubmission (1-based): 15s, 30s, 1m, 2m, 5m, 10m..."""
    index = min(max(attempt, 1), len(RETRY_DELAYS_SECONDS)) - 1
    return timedelta(seconds=RETRY_DELAYS_SECONDS[index])


def next_attempt(ended: datetime, submission_num: int) -> datetime:
    """When a run pending since its submission `submission_num` ended at `ended` is retried."""
    return ended + retry_delay(submission_num + 1)
