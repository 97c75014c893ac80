"""The recording engine: a declared test StackEngine (`stack_engine: recording`) that boots
nothing and records every call, for tests of what drives stacks (the reconciler, fleet
updates, failover) rather than of what a stack boots (tests/vm does that).

Each `up` evaluates the fleet's real program offline (stacks/offline.py: the preview the plan
shows) and keeps one JSON file per stack in `state_dir`, with the spec it was brought up from;
its outputs name instances that do not exist: ids `i-rec-<stack>-<n>`, private addresses from
TEST-NET-1 (192.0.2.0/24, RFC 5737: never routed) and no public address, so nothing takes
them for machines and nothing tries to reach them (a job on one fails to start: "no address").
`calls.jsonl` lists every verb in order (a test reads it with `calls()`). An `up` can be told
to fail, as a cloud out of capacity does: `fail_up(instance_type, message, region)` writes
`fail-up.json`, read by every process sharing the state directory. A `preview` compares the
spec with the recorded one (a second `up` of a changed spec is an update); `fail_preview`
makes previews fail, as missing credentials do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from fleetstack.stacks.diff import StackDiff, compare
from fleetstack.stacks.driver import StackOutputs, stack_name_for
from fleetstack.stacks.errors import StackError
from fleetstack.stacks.offline import offline_plan
from fleetstack.stacks.spec import StackRef, StackSpec

SSH_USER = "ubuntu"
FAILURES_FILE = "fail-up.json"
CALLS_FILE = "calls.jsonl"
PREVIEW_FAILURE = "(preview)"  # the key of fail-up.json that makes previews fail


@dataclass(frozen=True)
class Call:
    """One verb the engine was asked for."""

    verb: str  # preview | up | destroy | outputs | cancel | list
    stack: str
    at: float  # time.time() of the call
    detail: str = ""  # for up: the instance type; for a failed up: the error


@dataclass
class RecordingEngine:
    """preview / up / destroy / outputs / cancel recorded in `state_dir`; nothing is booted."""

    state_dir: Path

    def ensure_ready(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def preview(self, spec: StackSpec) -> StackDiff:
        """The diff against the recorded stack (its spec's resources), as a state-compared
        preview; all creates for a stack that does not exist. `fail_preview` makes it fail."""
        failure = self.failures().get(PREVIEW_FAILURE)
        self._record("preview", spec.stack_name, f"failed: {failure}" if failure else "")
        if failure is not None:
            raise StackError(failure)
        document = self.stack(spec.stack_name)
        new = offline_plan(spec)
        if document is None:
            return new
        fields = dict(document["spec"])
        fields["ports"] = tuple(fields.get("ports") or ())
        diff = compare(offline_plan(StackSpec(**fields)), new)
        return StackDiff(changes=diff.changes, state_compared=True)

    def up(self, spec: StackSpec, on_output: Callable[[str], None] | None = None) -> StackOutputs:
        say = on_output or (lambda _line: None)
        failures = self.failures()
        failure = failures.get(
            f"{spec.instance_type}@{spec.region}", failures.get(spec.instance_type)
        )
        if failure is not None:
            self._record("up", spec.stack_name, f"failed: {failure}")
            raise StackError(failure)
        diff = offline_plan(spec)  # the program really evaluates: a broken one fails here
        for change in diff.changes:
            say(f"+ {change.type} {change.name}")
        self._record("up", spec.stack_name, spec.instance_type)
        stack = spec.stack_name
        outputs = StackOutputs(
            instance_ids=[f"i-rec-{stack}-{n}" for n in range(spec.nodes)],
            public_ips=[],
            private_ips=[f"192.0.2.{n + 1}" for n in range(spec.nodes)],
            ssh_user=SSH_USER,
        )
        self.write_stack(spec, outputs)
        return outputs

    def destroy(self, project: str, fleet: str, cloud: str) -> None:
        stack = stack_name_for(project, fleet, cloud)
        self._record("destroy", stack)
        self._path(stack).unlink(missing_ok=True)

    def outputs(self, project: str, fleet: str, cloud: str) -> StackOutputs | None:
        stack = stack_name_for(project, fleet, cloud)
        self._record("outputs", stack)
        document = self.stack(stack)
        return None if document is None else StackOutputs(**document["outputs"])

    def cancel(self, project: str, fleet: str, cloud: str) -> None:
        self._record("cancel", stack_name_for(project, fleet, cloud))

    def list_stacks(self) -> list[StackRef]:
        self._record("list", "*")
        refs = []
        for name in self.stacks():
            spec = (self.stack(name) or {})["spec"]
            refs.append(StackRef(name, spec["project"], spec["fleet"], spec["cloud"]))
        return refs

    # What a test reads and sets.

    def stacks(self) -> list[str]:
        """The stacks that exist (brought up and not destroyed)."""
        return sorted(p.stem for p in self.state_dir.glob("*.json") if p.name != FAILURES_FILE)

    def stack(self, name: str) -> dict | None:
        """The recorded document of stack `name` (its spec and outputs), None when absent."""
        path = self._path(name)
        return json.loads(path.read_text()) if path.is_file() else None

    def calls(self, verb: str | None = None) -> list[Call]:
        """Every recorded call, oldest first (only `verb`'s when given)."""
        path = self.state_dir / CALLS_FILE
        lines = path.read_text().splitlines() if path.is_file() else []
        calls = [Call(**json.loads(line)) for line in lines]
        return [c for c in calls if verb is None or c.verb == verb]

    def write_stack(self, spec: StackSpec, outputs: StackOutputs) -> None:
        """Record `spec`'s stack as brought up with `outputs` (what `up` leaves; a test may
        also plant one, e.g. a stack owning instances of a moto EC2 server)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        document = {"spec": asdict(spec), "outputs": asdict(outputs)}
        self._path(spec.stack_name).write_text(json.dumps(document, indent=2, sort_keys=True))

    def fail_up(self, instance_type: str, message: str, region: str | None = None) -> None:
        """Make every later `up` of `instance_type` (in `region` only, when given) fail with
        `message`, in every process sharing the state directory."""
        key = f"{instance_type}@{region}" if region else instance_type
        failures = {**self.failures(), key: message}
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / FAILURES_FILE).write_text(json.dumps(failures))

    def fail_preview(self, message: str) -> None:
        """Make every later `preview` fail with `message` (credentials missing, say)."""
        self.fail_up(PREVIEW_FAILURE, message)

    def failures(self) -> dict[str, str]:
        path = self.state_dir / FAILURES_FILE
        return json.loads(path.read_text()) if path.is_file() else {}

    def _path(self, stack: str) -> Path:
        return self.state_dir / f"{stack}.json"

    def _record(self, verb: str, stack: str, detail: str = "") -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(Call(verb, stack, time.time(), detail)))
        with (self.state_dir / CALLS_FILE).open("a") as calls:
            calls.write(line + "\n")
