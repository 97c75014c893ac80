"""At 80 columns (COLUMNS=80 on a terminal that wide) the offer tables of `dstack offer` and of
the plan keep every row's SPOT and PRICE whole; the other columns are shortened first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fleetstack.engine.models.offers import format_price

from ..helpers import WAIT, run_on_terminal

DSTACK = str(Path(sys.executable).parent / "dstack")


@pytest.fixture(autouse=True)
def catalog(use_catalog):
    # azure is not configured: its rows carry the long "azure (not configured)"
    return use_catalog("offer", backends=["aws", "gcp"])


def expected_rows(*args: str) -> list[tuple[str, str, str]]:
    """(#, SPOT, PRICE) of each offer, from `dstack offer --json` with the same flags."""
    proc = subprocess.run(
        [DSTACK, "offer", *args, "--json"], capture_output=True, text=True, timeout=WAIT
    )
    assert proc.returncode == 0, proc.stderr
    offers = json.loads(proc.stdout)["offers"]
    return [
        (str(n), "yes" if o["spot"] else "no", format_price(o["price"]))
        for n, o in enumerate(offers, 1)
    ]


def table_rows(text: str) -> list[tuple[str, str, str]]:
    """(#, SPOT, PRICE) of each offer row of the table under a `#  BACKEND` header."""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["#", "BACKEND"])
    columns = ["#", "BACKEND", "REGION", "INSTANCE", "RESOURCES", "SPOT", "PRICE"]
    assert lines[header].split() == columns  # no column dropped to make room
    rows = []
    for line in lines[header + 1 :]:
        words = line.split()
        if not words or words[0] in ("Shown", "Resource"):
            break
        if words[0].isdigit():  # an offer's first line (wrapped RESOURCES lines follow)
            rows.append((words[0], words[-2], words[-1]))
    return rows


def test_dstack_offer_keeps_spot_and_price_whole_at_80_columns():
    args = ["--gpu", "80GB:8", "--spot-auto"]  # Standard_ND96amsr_A100_v4 among them
    text = run_on_terminal([DSTACK, "offer", *args], columns=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "azure (not" in text  # the long backend column is there, shortened
    assert table_rows(text) == expected_rows(*args)


def test_the_plan_keeps_spot_and_price_whole_at_80_columns(tmp_path):
    conf = tmp_path / "train.dstack.yml"
    conf.write_text("type: task\ncommands: [python train.py]\nresources:\n  gpu: 1..\n")
    text = run_on_terminal(
        [DSTACK, "apply", "-f", str(conf), "--dry-run", "--spot-auto", "-b", "azure"], columns=80
    )
    rows = table_rows(text)
    assert rows == expected_rows("--gpu", "1..", "--spot-auto", "-b", "azure")[:3]
    offers = text.split("PRICE", 1)[1].split("Shown", 1)[0]
    assert max(len(line) for line in offers.splitlines()) <= 80
