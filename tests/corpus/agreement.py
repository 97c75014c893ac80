"""Our parser against dstack's verdicts (verdicts.yml): the figures the corpus test checks.

    .venv/bin/python tests/corpus/agreement.py [-v]     # print the figures (-v: every miss)

Each case is written to a file and loaded as `dstack validate` loads it (no run arguments,
no environment, every secret a placeholder). Deliberate divergences (divergences.yml: the
legacy keys fleetstack keeps, rules where it is stricter than dstack) are reported on their
own and left out of the agreement figures.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from fleetstack.engine.config.validation import FileReport, validate_file

HERE = Path(__file__).parent
# resource fields compared with dstack's normalized ResourcesSpec (sizes GB, ranges {min, max})
RESOURCE_FIELDS = (
    ("cpu", "count"),
    ("memory",),
    ("shm_size",),
    ("disk", "size"),
    ("gpu", "count"),
    ("gpu", "name"),
    ("gpu", "memory"),
    ("gpu", "total_memory"),
    ("gpu", "compute_capability"),
)


@dataclass
class Case:
    name: str
    yaml: str
    folder: str  # docs or variants
    path: str | None = None  # variants: the YAML path the error must name
    contains: str | None = None  # variants: a fragment of the fix the message must give


@dataclass
class Outcome:
    """What dstack said of a case, and what we said (our `dstack validate` report)."""

    case: Case
    dstack_valid: bool
    report: FileReport
    resource_diffs: list[str] = field(default_factory=list)
    located: bool = False  # a rejection naming file, YAML path, line and the expected fix

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def error(self) -> str | None:
        return self.report.error


@dataclass
class Figures:
    outcomes: list[Outcome]
    divergent: list[Outcome]

    def counted(self, valid: bool) -> list[Outcome]:
        return [o for o in self.outcomes if o.dstack_valid is valid]

    @property
    def accepted(self) -> float:
        cases = self.counted(True)
        return sum(o.ok for o in cases) / max(len(cases), 1)

    @property
    def rejected(self) -> float:
        cases = self.counted(False)
        return sum(not o.ok for o in cases) / max(len(cases), 1)

    @property
    def variants_located(self) -> float:
        cases = [o for o in self.counted(False) if o.case.folder == "variants"]
        return sum(o.located for o in cases) / max(len(cases), 1)

    @property
    def resources_agree(self) -> float:
        cases = [o for o in self.counted(True) if o.ok]
        return sum(not o.resource_diffs for o in cases) / max(len(cases), 1)

    def report(self, verbose: bool = False) -> str:
        valid, invalid = self.counted(True), self.counted(False)
        variants = [o for o in invalid if o.case.folder == "variants"]
        lines = [
            f"corpus: {len(self.outcomes)} cases counted ({len(valid)} dstack-valid, "
            f"{len(invalid)} dstack-invalid, {len(variants)} of them variants), "
            f"{len(self.divergent)} deliberate divergences",
            f"  dstack-valid accepted:            {self.accepted:.3f}",
            f"  dstack-invalid rejected:          {self.rejected:.3f}",
            f"  variants located (file/path/line/fix): {self.variants_located:.3f}",
            f"  resources agree (both valid):     {self.resources_agree:.3f}",
        ]
        if verbose:
            for o in self.outcomes:
                if o.dstack_valid and not o.ok:
                    lines.append(f"  REJECTED {o.case.name}: {o.error}")
                elif not o.dstack_valid and o.ok:
                    lines.append(f"  ACCEPTED {o.case.name}")
                elif o.case.folder == "variants" and not o.dstack_valid and not o.located:
                    lines.append(f"  UNLOCATED {o.case.name} (want {o.case.path}): {o.error}")
                for diff in o.resource_diffs:
                    lines.append(f"  RESOURCES {o.case.name}: {diff}")
        return "\n".join(lines)


def cases() -> Iterator[Case]:
    for folder in ("docs", "variants"):
        for file in sorted((HERE / folder).glob("*.yml")):
            for item in yaml.safe_load(file.read_text()) or []:
                yield Case(
                    name=item["name"],
                    yaml=item["yaml"],
                    folder=folder,
                    path=item.get("path"),
                    contains=item.get("contains"),
                )


def verdicts() -> dict[str, dict[str, object]]:
    return yaml.safe_load((HERE / "verdicts.yml").read_text())


def divergences() -> dict[str, str]:
    return {d["name"]: d["why"] for d in yaml.safe_load((HERE / "divergences.yml").read_text())}


def measure(workdir: Path) -> Figures:
    """Load every case in `workdir` with our parser and compare with dstack's verdicts."""
    judged = verdicts()
    apart = divergences()
    outcomes: list[Outcome] = []
    divergent: list[Outcome] = []
    for case in cases():
        verdict = judged[case.name]
        file = workdir / f"{case.name}.dstack.yml"
        file.write_text(case.yaml)
        report = validate_file(str(file))
        outcome = Outcome(case=case, dstack_valid=bool(verdict["valid"]), report=report)
        if report.ok and isinstance(verdict.get("resources"), dict) and report.resources:
            outcome.resource_diffs = resource_diffs(verdict["resources"], report.resources)
        outcome.located = _located(outcome, str(file))
        (divergent if case.name in apart else outcomes).append(outcome)
    return Figures(outcomes, divergent)


def resource_diffs(theirs: Mapping[str, object], ours: Mapping[str, object]) -> list[str]:
    """The RESOURCE_FIELDS where our normalized resources differ from dstack's."""
    diffs = []
    for where in RESOURCE_FIELDS:
        a, b = _dig(theirs, where), _dig(ours, where)
        if _norm(a) != _norm(b):
            diffs.append(f"{'.'.join(where)}: dstack {a!r}, ours {b!r}")
    return diffs


def _located(outcome: Outcome, file: str) -> bool:
    case, report = outcome.case, outcome.report
    if report.ok or report.error is None or report.error_file != file:
        return False
    if report.error_line is None or not report.error.startswith(f"{file}:{report.error_line}:"):
        return False
    if case.path is not None and report.error_path != case.path:
        return False
    return case.contains is None or case.contains in report.error


def _dig(data: object, where: tuple[str, ...]) -> object:
    for key in where:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _norm(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(measure(Path(tmp)).report(verbose="-v" in sys.argv))
