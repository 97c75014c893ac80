"""Plans of many configurations (`dstack plan`, `dstack apply --dry-run`), the secrets every
output of them masks, and applying a saved plan (`dstack apply --plan FILE`).

Planning changes nothing: no database row, no stack, no lock, no key; only caches (the
parsed catalog) may be written under ~/.dstack.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...stacks.errors import StackError
from ..errors import FleetstackError
from ..models.json import JSONValue
from ..models.plan import Plan, PlanBasis
from .apply import plan_apply
from .plan import OverrideValue, stale_reasons

PLAN_SCHEMA_VERSION = 1
SUFFIX = ".dstack.yml"
# `${{ env.NAME }}` / `${{ secrets.NAME }}` in a file: their values are masked in every output.
_REFERENCE = re.compile(r"\$\{\{\s*(?:env|secrets)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE",)
MASK = "***"


@dataclass
class PlanOutcome:
    """One configuration's plan, or the error that stopped it (one line)."""

    path: str
    plan: Plan | None = None
    error: str | None = None


def configuration_files(paths: Sequence[str]) -> list[str]:
    """`paths` with each directory replaced by the `*.dstack.yml` files under it (sorted,
    recursively, hidden folders skipped); a directory with none is an error."""
    files: list[str] = []
    for path in paths:
        folder = Path(path)
        if not folder.is_dir():
            files.append(path)
            continue
        found = sorted(
            str(p)
            for p in folder.rglob(f"*{SUFFIX}")
            if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts[:-1])
        )
        if not found:
            raise FleetstackError(f"{path}: no *{SUFFIX} file in this directory or below it")
        files.extend(found)
    return files


def plan_configurations(
    files: Sequence[str],
    *,
    overrides: Mapping[str, OverrideValue],
    run_args: Sequence[str],
    profile: str | None,
    profiles: bool = True,
    env: Mapping[str, str] | None = None,
) -> list[PlanOutcome]:
    """The dry-run plan of every file (one error does not stop the others)."""
    outcomes = []
    for file in configuration_files(files):
        try:
            plan = plan_apply(file, run_args=run_args, overrides=overrides, profile=profile,
                              dry_run=True, profiles=profiles, env=env)  # fmt: skip
        except (FleetstackError, StackError) as exc:
            message = str(exc)  # said with the file's name, once
            outcomes.append(
                PlanOutcome(file, error=message if file in message else f"{file}: {message}")
            )
            continue
        outcomes.append(PlanOutcome(file, plan=plan))
    return outcomes


def secret_values(files: Sequence[str], env: Mapping[str, str] | None = None) -> list[str]:
    """Values no plan output may show: `-e` values, the environment's values of the names a
    file takes from it (`- NAME` env entries, `${{ env.NAME }}`, `${{ secrets.NAME }}`) and the
    Pulumi passphrase (its variable or file). Longest first, so a mask never leaves a tail."""
    from ..config import load_configuration

    values = set((env or {}).values())
    names: set[str] = set()
    for file in files:
        path = Path(file)
        text = path.read_text(errors="replace") if path.is_file() else ""
        names.update(_REFERENCE.findall(text))
        try:
            loaded = load_configuration(file, profiles=False)
        except (FleetstackError, StackError):
            continue
        names.update(k for k, v in (loaded.configuration.env or {}).items() if v is None)
    values.update(os.environ[name] for name in names if name in os.environ)
    values.update(os.environ[name] for name in _PASSPHRASE_VARS if name in os.environ)
    values.update(_passphrase_file_value())
    values = {v for v in values if len(v) >= 4}
    # the job script carries env values base64-encoded: those forms are masked too
    values.update(base64.b64encode(v.encode()).decode() for v in list(values))
    return sorted(values, key=len, reverse=True)


def mask(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret value replaced by ***."""
    for value in secrets:
        text = text.replace(value, MASK)
    return text


@dataclass(frozen=True)
class SavedPlan:
    """One configuration of a saved plan: where it came from and what it was computed from."""

    path: str
    basis: PlanBasis
    overrides: Mapping[str, OverrideValue]
    run_args: list[str]


def read_saved_plan(document: JSONValue, source: str) -> list[SavedPlan]:
    """The configurations of a saved plan document (`--out`); FleetstackError if it is not one."""
    if not isinstance(document, dict) or document.get("schema_version") != PLAN_SCHEMA_VERSION:
        raise FleetstackError(
            f"{source}: not a fleetstack plan of schema version {PLAN_SCHEMA_VERSION}: write "
            "it with `dstack plan -f FILE --out PLAN.json`"
        )
    saved = []
    for item in _list(document.get("configurations")):
        if not isinstance(item, dict):
            continue
        if item.get("error") is not None:
            raise FleetstackError(
                f"{source}: {item.get('configuration_path')}: the plan had an error: "
                f"{item.get('error')}; fix it and plan again"
            )
        basis = item.get("basis")
        if not isinstance(basis, dict):
            raise FleetstackError(f"{source}: configuration without a basis: plan it again")
        overrides = item.get("overrides")
        saved.append(
            SavedPlan(
                path=str(item.get("configuration_path")),
                basis=PlanBasis(**{k: str(basis.get(k)) for k in _BASIS_KEYS}),
                overrides=_overrides(overrides),
                run_args=[str(a) for a in _list(item.get("run_args"))],
            )
        )
    if not saved:
        raise FleetstackError(f"{source}: the plan holds no configuration")
    return saved


def replan_saved(saved: Sequence[SavedPlan], *, force: bool, source: str) -> list[Plan]:
    """Each saved configuration planned again (for real: env from the environment, the
    stack's preview); FleetstackError naming what changed since it was saved, unless `force`."""
    plans: list[Plan] = []
    stale: list[str] = []
    for item in saved:
        plan = plan_apply(item.path, run_args=item.run_args, overrides=item.overrides,
                          profile=None, dry_run=False)  # fmt: skip
        assert plan.basis is not None
        reasons = stale_reasons(item.basis, plan.basis)
        stale.extend(f"{item.path}: {reason}" for reason in reasons)
        plans.append(plan)
    if stale and not force:
        raise FleetstackError(
            f"{source} is stale: " + "; ".join(stale) + ". Plan again (`dstack plan --out`), "
            "or apply anyway with --force"
        )
    return plans


_BASIS_KEYS = ("configuration_digest", "offer", "stack_version", "state_source", "catalog")


def _overrides(value: JSONValue) -> dict[str, OverrideValue]:
    if not isinstance(value, dict):
        return {}
    out: dict[str, OverrideValue] = {}
    for key, item in value.items():
        if isinstance(item, list):
            out[key] = [str(v) for v in item]
        elif isinstance(item, dict):
            out[key] = {str(k): str(v) for k, v in item.items()}
        elif isinstance(item, str | int | float | bool) or item is None:
            out[key] = item
    return out


def _list(value: JSONValue) -> list[JSONValue]:
    return value if isinstance(value, list) else []


def _passphrase_file_value() -> list[str]:
    from ...stacks.settings import dstack_home

    named = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    path = Path(named).expanduser() if named else dstack_home() / "pulumi-passphrase"
    try:
        return [path.read_text().strip()]
    except OSError:
        return []
