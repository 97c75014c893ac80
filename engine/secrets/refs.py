"""A configuration that names its secret env values only, and secrets read as placeholders.

Which env entries are secret is engine/config/secret_refs.py's (the document as written).

`protect` replaces each secret value of a configuration by its digest
(`sha256:...`), so the plan, the run's rows and the job spec carry names and digests; the
values travel apart (Plan.secret_values, then the run's entry in the store).
"""

from __future__ import annotations

from pathlib import Path

from .store import digest

PLACEHOLDER = "<secret {name}>"  # what a secret reads as where its value is not needed


def protect(configuration: object, names: list[str], *, home: Path | None = None) -> dict[str, str]:
    """Replace, in the configuration's env, the value of each of `names` by its digest;
    returns the values taken out (name -> value). A value not resolved (None: a plan that
    does not submit) stays None."""
    env = getattr(configuration, "env", None)
    if not isinstance(env, dict):
        return {}
    values: dict[str, str] = {}
    for name in names:
        value = env.get(name)
        if not isinstance(value, str):
            continue
        values[name] = value
        env[name] = digest(value, home)
    return values


class PlaceholderSecrets(dict[str, str]):
    """Every secret exists and reads as a placeholder (validate, --dry-run: no value is
    needed to plan); the names asked for are recorded in `asked`."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        if key not in self.asked:
            self.asked.append(key)
        return PLACEHOLDER.format(name=key)
