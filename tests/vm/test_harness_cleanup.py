"""Nothing of the bench survives: a stopped instance leaves no trace, and the leftovers of a
bench whose process was killed are swept by the next one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .harness import Bench, leftovers, sweep_stale

CHILD = """
import sys, time, types
package = types.ModuleType("vmbench")
package.__path__ = [sys.argv[1]]
sys.modules["vmbench"] = package
from vmbench import harness
bench = harness.open_bench()
bench.boot("#cloud-config\\n", wait=False)
print(bench.index, flush=True)
time.sleep(600)
"""


def test_a_stopped_instance_leaves_nothing(boot, vm_bench: Bench):
    instance = boot("#cloud-config\n")
    veth = instance.name.replace("-", "v", 1)
    assert leftovers(instance.name), "a running instance shows up as ours"
    assert veth in _links()

    instance.stop()

    assert leftovers(instance.name) == []
    assert veth not in _links()
    assert not Path(f"/sys/fs/cgroup/systemd/{instance.name}").exists()
    assert not instance.root.exists()


def test_the_leftovers_of_a_killed_bench_are_swept(vm_bench: Bench):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        index = int(child.stdout.readline())
    finally:
        os.kill(child.pid, signal.SIGKILL)  # no finalizer, no atexit: a crash
        child.wait()
    prefix = f"fsvm{index}-"
    assert leftovers(prefix), "the killed bench left its instance"

    swept = sweep_stale()

    assert f"fsvm{index}-10" in swept
    assert leftovers(prefix) == []
    assert leftovers(f"fsvm{index}b") == []


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
