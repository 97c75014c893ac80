"""The VM engine: a test StackEngine (`stack_engine: vm`) whose instances really boot.

It evaluates the very program `pulumi up` would run (stacks/programs.py) in-process, under the
mocks machinery of the offline plan (stacks/offline.py), with no Pulumi engine. Every EC2
instance the program declares boots one harness instance with the instance's own user-data,
byte for byte; the program's exports are answered from the booted machines (instance ids,
public and private IPs; the SSH user is what the program exports).

Its state is one JSON file per stack in `state_dir` (like Pulumi's file backend): what each
declared instance was booted from (a digest of its inputs) and on which machine. A second `up`
with the same inputs boots nothing; changed inputs replace that instance; destroy halts them.
Only the test bench registers it (`register_test_engine("vm", ...)`): the product never boots.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pulumi
from fleetstack.stacks.diff import StackDiff
from fleetstack.stacks.driver import PROJECT_NAME, StackOutputs, outputs_from, stack_name_for
from fleetstack.stacks.errors import StackError
from fleetstack.stacks.offline import offline_plan, run_mocked
from fleetstack.stacks.programs import program_for
from fleetstack.stacks.spec import StackRef, StackSpec

from .harness import Bench, Instance, machine_running, missing_pieces, stop_machine

INSTANCE_TYPES = {"aws:ec2/instance:Instance"}  # the resources that boot a machine


@dataclass
class MachineRecord:
    """One declared instance as the engine's state keeps it."""

    resource: str  # the program's resource name (`fs-...-node-0`)
    machine: str  # the harness machine name (`fsvm1-10`)
    ip: str
    digest: str  # of the inputs it was booted from
    instance_type: str
    key_name: str
    tags: dict[str, str]

    @property
    def instance_id(self) -> str:
        return f"i-{self.machine}"


@dataclass
class VMEngine:
    """preview / up / destroy / outputs / cancel of fleet stacks on `bench`'s instances."""

    bench: Bench
    state_dir: Path
    provider_config: dict[str, str] = field(default_factory=dict)
    machines: dict[str, Instance] = field(default_factory=dict)  # booted by this engine
    boots: int = 0  # how many instances this engine booted (a test reads it)

    def ensure_ready(self) -> None:
        reason = missing_pieces()
        if reason:
            raise StackError(f"the vm stack engine cannot boot instances here: {reason}")

    def stacks(self) -> list[str]:
        """The stacks this engine's state directory holds."""
        return sorted(p.stem for p in self.state_dir.glob("*.json"))

    def halt_all(self) -> None:
        """Halt every machine the state directory records (a test's cleanup)."""
        for stack in self.stacks():
            for record in self._read(stack):
                self.halt(record, lambda _line: None)

    def preview(self, spec: StackSpec) -> StackDiff:
        return offline_plan(spec)

    def up(self, spec: StackSpec, on_output: Callable[[str], None] | None = None) -> StackOutputs:
        if spec.cloud != "aws":  # other programs' instances would be answered, never booted
            raise StackError(f"the vm stack engine boots aws fleets only, not {spec.cloud}")
        say = on_output or (lambda _line: None)
        previous = {r.resource: r for r in self._read(spec.stack_name)}
        mocks = _BootingMocks(self, previous, say)
        exports = run_mocked(
            program_for(spec),
            project=PROJECT_NAME,
            stack=spec.stack_name,
            mocks=mocks,
            preview=False,
        )
        declared = {r.resource for r in mocks.records}
        for name, record in previous.items():
            if name not in declared:
                self.halt(record, say)
        self._write(spec.stack_name, mocks.records, exports)
        return outputs_from(exports)

    def destroy(self, project: str, fleet: str, cloud: str) -> None:
        stack = stack_name_for(project, fleet, cloud)
        for record in self._read(stack):
            self.halt(record, lambda _line: None)
        self._path(stack).unlink(missing_ok=True)

    def outputs(self, project: str, fleet: str, cloud: str) -> StackOutputs | None:
        path = self._path(stack_name_for(project, fleet, cloud))
        if not path.is_file():
            return None
        return outputs_from(json.loads(path.read_text())["outputs"])

    def cancel(self, project: str, fleet: str, cloud: str) -> None:
        return None  # an up here runs in the caller's thread and holds no lock to release

    def list_stacks(self) -> list[StackRef]:
        refs = []
        for stack in self.stacks():
            tags = next((r.tags for r in self._read(stack)), {})
            if "project" in tags and "fleet" in tags:  # its machines carry the stack's tags
                refs.append(StackRef(stack, tags["project"], tags["fleet"], "aws"))
        return refs

    def boot(
        self, record_of: Callable[[Instance], MachineRecord], user_data: bytes
    ) -> MachineRecord:
        """Boot one instance with `user_data` (until cloud-init's boot-finished); its record."""
        instance = self.bench.boot(user_data)
        self.machines[instance.name] = instance
        self.boots += 1
        return record_of(instance)

    def is_running(self, record: MachineRecord) -> bool:
        """Whether the record's machine runs (booted by this process or another one)."""
        return machine_running(record.machine)

    def halt(self, record: MachineRecord, say: Callable[[str], None]) -> None:
        """Halt the record's machine (and remove everything of it); gone already is fine."""
        say(f"halting {record.resource} ({record.machine})")
        instance = self.machines.pop(record.machine, None)
        if instance is not None:
            instance.stop()
        else:  # booted by another process (a `dstack apply` before this `fleet delete`)
            stop_machine(record.machine)

    def _path(self, stack: str) -> Path:
        return self.state_dir / f"{stack}.json"

    def _read(self, stack: str) -> list[MachineRecord]:
        path = self._path(stack)
        if not path.is_file():
            return []
        return [MachineRecord(**item) for item in json.loads(path.read_text())["machines"]]

    def _write(self, stack: str, records: list[MachineRecord], exports: dict[str, object]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        document = {"machines": [asdict(r) for r in records], "outputs": exports}
        partial = self._path(stack).with_suffix(".partial")
        partial.write_text(json.dumps(document, indent=2, sort_keys=True))
        partial.replace(self._path(stack))  # a crash leaves the previous state whole


class _BootingMocks(pulumi.runtime.Mocks):
    """Answers the program's registrations; each instance resource is a booted machine."""

    def __init__(
        self,
        engine: VMEngine,
        previous: dict[str, MachineRecord],
        say: Callable[[str], None],
    ) -> None:
        self.engine = engine
        self.previous = previous
        self.say = say
        self.records: list[MachineRecord] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if args.typ not in INSTANCE_TYPES:
            outputs = {"name": args.name, **inputs}
            if "keyNamePrefix" in inputs:
                outputs["keyName"] = f"{inputs['keyNamePrefix']}vm"
            return f"{args.name}-vm", outputs
        record = self._machine(args.name, inputs)
        self.records.append(record)
        outputs = {**inputs, "publicIp": record.ip, "privateIp": record.ip}
        return record.instance_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        return {**args.args, "id": "ami-vm-bench", "imageId": "ami-vm-bench"}, []

    def _machine(self, resource: str, inputs: dict) -> MachineRecord:
        user_data = _user_data(inputs)
        tags = {str(k): str(v) for k, v in (inputs.get("tags") or {}).items()}
        wanted = {
            "user_data": hashlib.sha256(user_data).hexdigest(),
            "instance_type": str(inputs.get("instanceType", "")),
            "key_name": str(inputs.get("keyName", "")),
            "tags": tags,
        }
        digest = hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()
        old = self.previous.get(resource)
        if old is not None and old.digest == digest and self.engine.is_running(old):
            return old  # the same inputs on a running machine: nothing to change
        if old is not None:
            self.engine.halt(old, self.say)
        self.say(f"booting {resource}")

        def record_of(instance: Instance) -> MachineRecord:
            return MachineRecord(
                resource=resource,
                machine=instance.name,
                ip=instance.ip,
                digest=digest,
                instance_type=wanted["instance_type"],
                key_name=wanted["key_name"],
                tags=tags,
            )

        return self.engine.boot(record_of, user_data)


def _user_data(inputs: dict) -> bytes:
    """The instance's user data as EC2 hands it to cloud-init (gzipped stays gzipped)."""
    if inputs.get("userData"):
        return str(inputs["userData"]).encode()
    packed = inputs.get("userDataBase64")
    if not packed:
        raise StackError("the vm engine needs the instance's user data; the program gave none")
    return base64.b64decode(str(packed))
