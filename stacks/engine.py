"""The stack engine seam: what engine/fleets asks of whatever evaluates a fleet's program.

`pulumi` (stacks/driver.py, the Automation API) is the product's only engine. `vm` and
`recording` are declared test engines: the test bench registers them in its own process
(tests/vm/engine.py boots instances; tests/engines/recording.py records calls, boots nothing);
the product never boots anything itself, so choosing it elsewhere is an error, never a
silent fallback to a pretended `up`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .diff import StackDiff
from .driver import StackDriver, StackOutputs
from .errors import StackError
from .spec import StackRef, StackSpec

DEFAULT_ENGINE = "pulumi"
TEST_ENGINES = ("vm", "recording")  # registered only by the test bench (tests/)
ENGINE_NAMES = (DEFAULT_ENGINE, *TEST_ENGINES)


class StackEngine(Protocol):
    """Preview, up, destroy, outputs and cancel of one fleet's stack."""

    def ensure_ready(self) -> None:
        """StackError with the fix when this engine cannot run here."""

    def preview(self, spec: StackSpec) -> StackDiff:
        """What `up` would change, per resource."""

    def up(self, spec: StackSpec, on_output: Callable[[str], None] | None = None) -> StackOutputs:
        """Create or update the fleet's stack; its outputs."""

    def destroy(self, project: str, fleet: str, cloud: str) -> None:
        """Destroy the fleet's resources; nothing to do is not an error."""

    def outputs(self, project: str, fleet: str, cloud: str) -> StackOutputs | None:
        """The outputs of the stack's last `up`; None when there is no such stack."""

    def cancel(self, project: str, fleet: str, cloud: str) -> None:
        """Cancel a running update and release its lock."""

    def list_stacks(self) -> list[StackRef]:
        """Every fleet stack in this engine's backend (of every project)."""


EngineFactory = Callable[[dict[str, str]], StackEngine]  # provider settings -> engine
_registered: dict[str, EngineFactory] = {}


def register_test_engine(name: str, factory: EngineFactory) -> None:
    """Make the test engine `name` (one of TEST_ENGINES) available in this process."""
    if name not in TEST_ENGINES:
        raise StackError(f"{name!r} is not a declared test engine ({', '.join(TEST_ENGINES)})")
    _registered[name] = factory


def unregister_test_engine(name: str) -> None:
    """Forget the test engine `name` (a bench that closed)."""
    _registered.pop(name, None)


def engine_named(name: str, provider_config: dict[str, str]) -> StackEngine:
    """The engine `name` (a config.yml `stack_engine:` value) with the provider settings."""
    if name == DEFAULT_ENGINE:
        return StackDriver(provider_config=provider_config)
    factory = _registered.get(name)
    if factory is None:
        raise StackError(
            f"stack_engine {name!r} is a test engine that only fleetstack's test bench "
            f"provides (tests/vm), and it is not running in this process; set "
            f"`stack_engine: {DEFAULT_ENGINE}` (or remove the key) in config.yml"
        )
    return factory(provider_config)
