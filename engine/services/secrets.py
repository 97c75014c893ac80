"""Secrets as use cases: `dstack secret set/list/delete`, and what a plan does with the
secret env values of its configuration (engine/secrets has the store and the rules)."""

from __future__ import annotations

from collections.abc import Mapping

from ..models.plan import Plan
from ..secrets import (
    DEFAULT_PROJECT,
    PlaceholderSecrets,
    SecretEnv,
    SecretStore,
    digest,
    protect,
)


def set_secret(name: str, value: str, *, project: str = DEFAULT_PROJECT) -> bool:
    """Store secret `name` of `project`; True when it replaced a value."""
    return SecretStore(project).set(name, value)


def secret_names(*, project: str = DEFAULT_PROJECT) -> list[str]:
    """The names of the project's stored secrets, sorted (never their values)."""
    return SecretStore(project).names()


def delete_secret(name: str, *, project: str = DEFAULT_PROJECT) -> bool:
    """Forget secret `name`; False when it was not stored."""
    return SecretStore(project).delete(name)


def plan_secrets(found: SecretEnv, *, dry_run: bool) -> Mapping[str, str]:
    """What ${{ secrets.NAME }} resolves from: placeholders for a plan that does not submit
    (no value is needed to plan), the store's values for one that does."""
    if dry_run:
        return PlaceholderSecrets()
    if not found.secrets_used:
        return {}
    return SecretStore().values()


def protect_plan(plan: Plan, found: SecretEnv, *, resolved: bool) -> None:
    """Take the secret env values out of the plan's configuration (digests stay in their
    place) into plan.secret_values, and say in the plan's properties which secrets it needs."""
    auth = getattr(plan.configuration, "registry_auth", None)
    if found.registry_password and auth is not None and resolved:
        auth.password = digest(auth.password)  # registries are not logged in to (yet)
    env = getattr(plan.configuration, "env", None) or {}
    names = [name for name in found.names if name in env]
    if not names and not found.secrets_used:
        return
    plan.secret_env = names
    if resolved:
        plan.secret_values = protect(plan.configuration, names)
    stored = set(SecretStore().names()) if found.secrets_used and not resolved else set()
    needs = [f"{name} (from your environment at apply)" for name in found.from_caller]
    for secret in found.secrets_used:
        state = "stored" if resolved or secret in stored else f"not set: dstack secret set {secret}"
        needs.append(f"secrets.{secret} ({state})")
    plan.properties.append(("Secrets", ", ".join(needs)))
