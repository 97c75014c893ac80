"""An offline plan: evaluate a stack program under Pulumi mocks, no CLI, no credentials.

`run_mocked` is the one place a program runs in-process; the offline plan records what it
declares, and a test engine (tests/vm/engine.py) gives its own mocks to answer with machines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict, Unpack

from .diff import ResourceChange, StackDiff
from .inputs import PLACEHOLDER as PLACEHOLDER_ID
from .inputs import ReviewPaths, flatten_inputs, summarize
from .programs import program_for, program_module
from .spec import StackSpec

if TYPE_CHECKING:  # the SDK is imported where a program runs: it is heavy
    import pulumi

_LOCK = threading.Lock()


@dataclass
class _Outcome:
    """What the program thread leaves for the caller: the exports, or what it raised."""

    exports: dict[str, object] = field(default_factory=dict)
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
    import pulumi

    class RecordingMocks(pulumi.runtime.Mocks):
        def __init__(self) -> None:
            self.changes: list[ResourceChange] = []

        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            details = summarize(args.inputs, paths)
            inputs = flatten_inputs(args.inputs)
            self.changes.append(ResourceChange("create", args.typ, args.name, details, inputs))
            # Return id and name: an output the mock leaves out resolves to None and the
            # inputs that depend on it (placement group, key name) would vanish from the plan.
            outputs = {"name": args.name, **args.inputs, "id": PLACEHOLDER_ID}
            return f"{args.name}-{PLACEHOLDER_ID}", outputs

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
            # Lookups (AMIs, images, zones) answer with a placeholder that echoes the query.
            return {**args.args, "id": PLACEHOLDER_ID, "imageId": PLACEHOLDER_ID}, []

    mocks = RecordingMocks()
    run_mocked(program, project=project, stack=stack, mocks=mocks, preview=True)
    return StackDiff(changes=mocks.changes, state_compared=False)


class MockedTarget(TypedDict):
    """The project and stack a mocked program runs as, and whether it is a preview."""

    project: str
    stack: str
    preview: bool


def run_mocked(
    program: Callable[[], None], *, mocks: pulumi.runtime.Mocks, **target: Unpack[MockedTarget]
) -> dict[str, object]:
    """Run `program` with `mocks` answering its registrations; its exports (known values only:
    with preview=True, values the mocks compute stay unknown and are left out).

    Runs in a fresh thread with its own event loop, so it also works under a running loop.
    """
    outcome = _Outcome()

    def work() -> None:
        try:
            outcome.exports = _run_in_loop(program, mocks, **target)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.error = exc

    with _LOCK:  # the Pulumi runtime settings are process-global
        thread = threading.Thread(target=work, name="fleetstack-mocked-program")
        thread.start()
        thread.join()
    if outcome.error is not None:
        raise outcome.error
    return outcome.exports


def _run_in_loop(
    program: Callable[[], None], mocks: pulumi.runtime.Mocks, **target: Unpack[MockedTarget]
) -> dict[str, object]:
    """run_mocked's work, in the current thread and a new event loop of its own; `target` is
    the project, stack and preview flag the Pulumi runtime is set to."""
    import asyncio

    import pulumi
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.settings import get_root_resource
    from pulumi.runtime.stack import Stack, run_pulumi_func

    exports: dict[str, object] = {}

    def with_exports() -> None:
        program()
        root = get_root_resource()  # set_mocks made it: pulumi.export() lands in its outputs
        if isinstance(root, Stack):
            pulumi.Output.all(**root.outputs).apply(exports.update)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    workers = _WorkerLoops()
    loop.set_default_executor(workers.executor)
    try:
        pulumi_settings.reset_options(**target)
        pulumi.runtime.set_mocks(mocks, **target)
        loop.run_until_complete(run_pulumi_func(with_exports))
    finally:
        pulumi_settings.reset_options()
        for task in asyncio.all_tasks(loop):  # a failed program leaves registrations pending
            task.cancel()
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
        workers.close()
    return exports


class _WorkerLoops:
    """The executor the SDK's mock monitor runs registrations in, and the loops of its threads.

    The MockMonitor calls `_ensure_event_loop()` in each executor thread, which creates a
    loop there that nobody closes; one left to the interpreter's exit is finalised after its
    self-pipe socket (`Exception ignored in: BaseEventLoop.__del__ ... ValueError: Invalid
    file descriptor: -1`, in some runs only, as the GC order varies). Each worker thread
    gets a loop of ours instead, closed once the threads are done.
    """

    def __init__(self) -> None:
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        self.loops: list[asyncio.AbstractEventLoop] = []
        self.executor = ThreadPoolExecutor(
            thread_name_prefix="fleetstack-mocked-register", initializer=self._set_loop
        )

    def _set_loop(self) -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loops.append(loop)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        for loop in self.loops:
            loop.close()
