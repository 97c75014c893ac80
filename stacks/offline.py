"""An offline plan: evaluate a stack program under Pulumi mocks, no CLI, no credentials."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .diff import ResourceChange, StackDiff
from .inputs import PLACEHOLDER as PLACEHOLDER_ID
from .inputs import ReviewPaths, summarize
from .programs import program_for, program_module
from .spec import StackSpec

_LOCK = threading.Lock()


@dataclass
class _Outcome:
    """What the program thread leaves for the caller: its changes, or what it raised."""

    changes: list[ResourceChange] = field(default_factory=list)
    error: BaseException | None = None


def offline_plan(spec: StackSpec, program: Callable[[], None] | None = None) -> StackDiff:
    """Every resource `program_for(spec)` declares, as op "create", with its key inputs.

    Runs in a fresh thread with its own event loop, so it also works under a running loop.
    """
    paths = program_module(spec.cloud, spec.fleet).REVIEW_INPUTS
    program = program if program is not None else program_for(spec)
    return evaluate_program(program, project="fleetstack", stack=spec.stack_name, paths=paths)


def evaluate_program(
    program: Callable[[], None], *, project: str, stack: str, paths: ReviewPaths
) -> StackDiff:
    """Run `program` under mocks and return the resources it registered (state_compared=False).

    Each resource's details are its inputs found at `paths` (a program's REVIEW_INPUTS).
    """
    outcome = _Outcome()

    def target() -> None:
        try:
            outcome.changes = _run_mocked(program, project, stack, paths)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.error = exc

    with _LOCK:  # the Pulumi runtime settings are process-global
        thread = threading.Thread(target=target, name="fleetstack-offline-plan")
        thread.start()
        thread.join()
    if outcome.error is not None:
        raise outcome.error
    return StackDiff(changes=outcome.changes, state_compared=False)


def _run_mocked(
    program: Callable[[], None], project: str, stack: str, paths: ReviewPaths
) -> list[ResourceChange]:
    import asyncio

    import pulumi
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.stack import run_pulumi_func

    class RecordingMocks(pulumi.runtime.Mocks):
        def __init__(self) -> None:
            self.changes: list[ResourceChange] = []

        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            details = summarize(args.inputs, paths)
            self.changes.append(ResourceChange("create", args.typ, args.name, details))
            # Return id and name: an output the mock leaves out resolves to None and the
            # inputs that depend on it (placement group, key name) would vanish from the plan.
            outputs = {"name": args.name, **args.inputs, "id": PLACEHOLDER_ID}
            return f"{args.name}-{PLACEHOLDER_ID}", outputs

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
            # Lookups (AMIs, images, zones) answer with a placeholder that echoes the query.
            return {**args.args, "id": PLACEHOLDER_ID, "imageId": PLACEHOLDER_ID}, []

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = RecordingMocks()
    try:
        pulumi_settings.reset_options(project=project, stack=stack, preview=True)
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=True)
        loop.run_until_complete(run_pulumi_func(program))
    finally:
        pulumi_settings.reset_options()
        for task in asyncio.all_tasks(loop):  # a failed program leaves registrations pending
            task.cancel()
        loop.close()
        asyncio.set_event_loop(None)
    return mocks.changes
