"""examples/service.dstack.yml uses ${{ secrets.HF_TOKEN }}: it plans with --dry-run without
the secret, names the command that stores it, and plans for real once it is stored."""

from __future__ import annotations

from pathlib import Path

from .conftest import dstack

EXAMPLE = Path(__file__).parents[2] / "examples" / "service.dstack.yml"
VALUE = "hf_ExampleSecret_9d2"


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_service_example_plans_before_and_after_its_secret_is_set(tmp_path):
    dry = dstack("apply", "-f", str(EXAMPLE), "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "Secrets secrets.HF_TOKEN (not set: dstack secret set HF_TOKEN)" in _flat(dry.stdout)

    unset = dstack("apply", "-f", str(EXAMPLE), "-y", cwd=tmp_path)
    assert unset.returncode == 1
    assert unset.stderr.splitlines() == [
        f"{EXAMPLE}:8: env.HF_TOKEN: ${{{{ secrets.HF_TOKEN }}}} is not set: store it with "
        "`dstack secret set HF_TOKEN`"
    ]

    assert dstack("secret", "set", "HF_TOKEN", VALUE).returncode == 0
    planned = dstack("apply", "-f", str(EXAMPLE), input="n\n", cwd=tmp_path)
    assert "Secrets secrets.HF_TOKEN (stored)" in _flat(planned.stdout)
    assert "Run not submitted." in planned.stdout + planned.stderr
    assert VALUE not in planned.stdout + planned.stderr
    validated = dstack("validate", str(EXAMPLE))
    assert validated.returncode == 0
    assert validated.stdout.rstrip().endswith("; needs secrets HF_TOKEN)")
