"""RunSpec: the `runs.run_spec` JSON column, written when a run is submitted and read by the
lifecycle (retry), the job starter (job, run_dir, project_root) and the run's deletion.

Stored with `model_dump(mode="json")`, read with `RunSpec.of(run.run_spec)`: rows written
before a field existed read it as its default.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, JsonValue

from .jobs import JobSpec


class RetrySpec(BaseModel):
    """The configuration's `retry`, as the lifecycle applies it."""

    on_events: list[str] = []
    duration: int | None = None  # seconds; None: retry until stopped


class RunSpec(BaseModel):
    """What every submission of a run needs, decided once at submit."""

    model_config = ConfigDict(extra="ignore")

    project_root: str | None = None
    run_args: list[str] = []
    run_dir: str | None = None
    job: JobSpec | None = None  # without DSTACK_WORKING_DIR: each submission has its own copy
    max_duration: int | None = None
    retry: RetrySpec | None = None
    offer: dict[str, JsonValue] | None = None  # Offer.to_json of the plan's chosen offer
    # a fleet created for the run (engine/fleets/for_run.py): its name, idle_duration, and
    # the stacks to try in turn; None when the run goes to this machine or a fleet's instance
    provision: dict[str, JsonValue] | None = None

    @classmethod
    def of(cls, stored: dict[str, JsonValue] | None) -> RunSpec:
        """The RunSpec of a run row's run_spec (an empty one for a row without)."""
        return cls.model_validate(stored or {})
