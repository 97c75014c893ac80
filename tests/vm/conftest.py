"""Fixtures of the VM harness: one bench (a private /24) per session, instances per test.

Without root, systemd-nspawn, debootstrap or the built base, every test here skips with the
one command that fixes it; under FLEETSTACK_REQUIRE_ALL_TESTS=1 (or CI=true) it fails instead.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from fleetstack.engine.config import load_configuration
from fleetstack.engine.runs.jobs import build_job, instance_placement
from fleetstack.stacks.engine import register_test_engine, unregister_test_engine
from fleetstack.templates.cloud_init import render_user_data
from fleetstack.templates.render import INSTANCE_WORK_DIR

from ..conftest import TEST_VAR
from ..helpers import all_tests_required
from .engine import VMEngine
from .harness import Bench, Instance, leftovers, missing_pieces, open_bench


@pytest.fixture(scope="session")
def vm_bench() -> Iterator[Bench]:
    """The session's bench; after it closes, nothing named after it is left on the machine."""
    reason = missing_pieces()
    if reason:
        required = all_tests_required()
        if required:
            pytest.fail(f"{reason} ({required} requires every test to run)")
        pytest.skip(reason)
    # The nspawn processes outlive single tests only through this fixture: not a test's leak.
    env = {k: v for k, v in os.environ.items() if k != TEST_VAR}
    bench = open_bench(env)
    prefix = f"fsvm{bench.index}"
    try:
        yield bench
    finally:
        bench.close()
    left = [item for item in leftovers(prefix) if prefix + "-" in item or prefix + "v" in item]
    assert not left, f"the VM bench left behind: {left}"


@pytest.fixture
def boot(vm_bench: Bench) -> Iterator[Callable[..., Instance]]:
    """boot(user_data, image_tags=(), wait=True) -> a booted Instance, stopped after the test."""
    booted: list[Instance] = []

    def start(user_data: str, **options: object) -> Instance:
        instance = vm_bench.boot(user_data, **options)  # type: ignore[arg-type]
        booted.append(instance)
        return instance

    yield start
    for instance in booted:
        instance.stop()


@pytest.fixture
def vm_engine(vm_bench: Bench, tmp_path: Path) -> Iterator[VMEngine]:
    """The VM stack engine on the session's bench, registered as `stack_engine: vm` for the
    test; its state lives in tmp_path/vm-stacks; what it booted is halted after the test."""
    engine = VMEngine(vm_bench, tmp_path / "vm-stacks")
    register_test_engine("vm", lambda _provider_config: engine)
    try:
        yield engine
    finally:
        unregister_test_engine("vm")
        for instance in list(engine.machines.values()):
            instance.stop()


@pytest.fixture
def ssh_key(tmp_path: Path) -> Callable[[str], tuple[Path, str]]:
    """ssh_key(name) -> (private key file, public key line), made with ssh-keygen."""

    def make(name: str) -> tuple[Path, str]:
        private = tmp_path / f"{name}_ed25519"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(private)],
            check=True,
        )
        return private, private.with_suffix(".pub").read_text().strip()

    return make


@pytest.fixture
def task_user_data(tmp_path: Path) -> Callable[..., str]:
    """task_user_data(yaml, public_key, run_args=(), nodes=1) -> our user-data for that task,
    built as a cloud run builds it (configuration -> job at an instance -> cloud-init)."""

    def render(
        text: str, public_key: str, run_args: Sequence[str] = (), run_name: str = "vm-task"
    ) -> str:
        path = tmp_path / f"{run_name}.dstack.yml"
        path.write_text(text)
        configuration = load_configuration(path, run_args=run_args, environ={}).configuration
        nodes = int(getattr(configuration, "nodes", 1) or 1)
        placement = instance_placement(INSTANCE_WORK_DIR, nodes=nodes, gpu_vendor=None)
        job = build_job(
            configuration,  # type: ignore[arg-type]
            run_name=run_name,
            run_id="0123456789abcdef0123456789abcdef",
            gpus=0,
            placement=placement,
        )
        return render_user_data(job, ssh_public_keys=[public_key], gpu_vendor=None)

    return render
