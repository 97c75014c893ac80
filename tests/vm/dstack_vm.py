"""`python tests/vm/dstack_vm.py ARGS`: the real `dstack` CLI (fleetstack.cli.main) in a process
that joined the test session's bench, with the VM stack engine registered.

FLEETSTACK_VM_BENCH names the bench (its owner, the pytest session, holds its lock and sweeps
it when it closes); FLEETSTACK_VM_STATE is the engine's state directory, shared by every
process of a test, so a later `dstack fleet delete` halts what `dstack apply` booted.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

BENCH_VAR = "FLEETSTACK_VM_BENCH"
STATE_VAR = "FLEETSTACK_VM_STATE"
# tests/conftest.py's TEST_VAR: the instances belong to the bench (swept when it closes)
INSTANCE_ENV_DROPS = ("FLEETSTACK_TEST_ID",)
_PACKAGE = "fleetstack_vm_bench"  # tests/vm under a name no installed package has


def main() -> None:
    from fleetstack.cli.main import run
    from fleetstack.stacks.engine import register_test_engine

    package = types.ModuleType(_PACKAGE)
    package.__path__ = [str(Path(__file__).parent)]
    sys.modules[_PACKAGE] = package
    engine_module = importlib.import_module(f"{_PACKAGE}.engine")
    harness = importlib.import_module(f"{_PACKAGE}.harness")

    env = {k: v for k, v in os.environ.items() if k not in INSTANCE_ENV_DROPS}
    bench = harness.join_bench(int(os.environ[BENCH_VAR]), env)
    engine = engine_module.VMEngine(bench, Path(os.environ[STATE_VAR]))
    register_test_engine("vm", lambda _provider_config: engine)
    run()


if __name__ == "__main__":
    main()
