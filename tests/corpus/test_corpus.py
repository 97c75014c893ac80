"""Our parser against dstack 0.22.5's verdicts on the documentation corpus (tests/corpus).

The bulk runs in-process; a sample goes through the real `dstack validate --json`. The figures
are printed (pytest -s) and the test fails under the thresholds of issue 10.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from agreement import cases, divergences, measure, resource_diffs, verdicts  # noqa: E402

DSTACK = str(Path(sys.executable).parent / "dstack")

THRESHOLD_AGREE = 0.97
THRESHOLD_LOCATED = 0.95
CLI_SAMPLE = 40  # cases through the real CLI: every 15th of the corpus, up to this many


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory):
    result = measure(tmp_path_factory.mktemp("corpus"))
    print("\n" + result.report())
    return result


def test_corpus_has_dozens_of_each_type():
    kinds: dict[str, int] = {}
    for case in cases():
        kind = next(x for x in case.yaml.splitlines() if x.startswith("type:")).split()[1]
        kinds[kind] = kinds.get(kind, 0) + 1
    assert all(kinds.get(k, 0) >= 12 for k in ("gateway", "volume")), kinds
    assert all(kinds[k] >= 40 for k in ("task", "service", "dev-environment", "fleet")), kinds


def test_every_invalid_variant_says_where_and_what_fix():
    judged, apart = verdicts(), divergences()
    vague = [
        c.name
        for c in cases()
        if c.folder == "variants"
        and c.name not in apart
        and not judged[c.name]["valid"]
        and not (c.path and c.contains)
    ]
    assert vague == []


def test_every_case_has_a_verdict():
    judged = verdicts()
    assert [c.name for c in cases() if c.name not in judged] == []


def test_dstack_valid_configurations_are_accepted(figures):
    assert figures.accepted >= THRESHOLD_AGREE, figures.report(verbose=True)


def test_dstack_invalid_configurations_are_rejected(figures):
    assert figures.rejected >= THRESHOLD_AGREE, figures.report(verbose=True)


def test_invalid_variants_name_file_path_line_and_fix(figures):
    assert figures.variants_located >= THRESHOLD_LOCATED, figures.report(verbose=True)


def test_normalized_resources_agree(figures):
    assert figures.resources_agree >= THRESHOLD_AGREE, figures.report(verbose=True)


def test_every_listed_divergence_still_diverges(figures):
    same = [o.case.name for o in figures.divergent if o.ok == o.dstack_valid]
    assert same == [], "answered as dstack does now: drop them from divergences.yml"


def test_resource_comparison_sees_a_difference():
    theirs = {"gpu": {"count": {"min": 1, "max": 1}}, "disk": {"size": {"min": 100.0}}}
    ours = {"gpu": {"count": {"min": 1, "max": 2}}, "disk": {"size": {"min": 100}}}
    assert resource_diffs(theirs, ours) == ["gpu.count: dstack {'min': 1, 'max': 1}, ours "
                                            "{'min': 1, 'max': 2}"]  # fmt: skip


def test_a_sample_through_the_real_cli_agrees(tmp_path):
    judged = verdicts()
    sample = [c for i, c in enumerate(cases()) if i % 15 == 0][:CLI_SAMPLE]
    files = []
    for case in sample:
        file = tmp_path / f"{case.name}.dstack.yml"
        file.write_text(case.yaml)
        files.append(str(file))
    done = subprocess.run(
        [DSTACK, "validate", "--json", "-f", *files],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DSTACK_HOME": str(tmp_path / "home")},
        timeout=120,
    )
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(reports) == len(sample), done.stderr
    agree = sum(r["ok"] == judged[c.name]["valid"] for r, c in zip(reports, sample, strict=True))
    print(f"\nCLI sample: {agree}/{len(sample)} agree with dstack")
    assert agree / len(sample) >= THRESHOLD_AGREE
    for report in reports:
        if not report["ok"]:
            assert report["error_line"] is not None and report["error_path"], report
            assert report["error"].startswith(f"{report['file']}:{report['error_line']}: ")
    assert "Traceback" not in done.stderr
