"""The Automation API driver: one Pulumi stack per fleet (preview / up / destroy / cancel)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from . import settings
from .diff import StackDiff, diff_from_events
from .errors import StackError, ensure_pulumi_cli
from .programs import program_for, program_module
from .spec import StackRef, StackSpec

if TYPE_CHECKING:  # the Automation API is imported where it is used: it is heavy
    from pulumi import automation as auto

PROJECT_NAME = "fleetstack"


@dataclass
class StackOutputs:
    instance_ids: list[str] = field(default_factory=list)
    public_ips: list[str] = field(default_factory=list)
    private_ips: list[str] = field(default_factory=list)
    ssh_user: str = ""


@dataclass
class StackDriver:
    """Drives fleet stacks through the Pulumi Automation API (needs the `pulumi` CLI).

    backend_url and passphrase_file default to stacks/settings.py's; provider_config holds
    provider settings such as `aws:profile` (references only, never secrets).
    """

    backend_url: str | None = None
    passphrase_file: Path | None = None
    work_dir: Path | None = None
    provider_config: dict[str, str] = field(default_factory=dict)

    def ensure_ready(self) -> None:
        """PulumiCLIMissing (with the install command) when the `pulumi` CLI is not on PATH."""
        ensure_pulumi_cli()

    def preview(self, spec: StackSpec) -> StackDiff:
        """What `up` would change, per resource, compared with the stack's state."""
        stack = self._stack(spec)
        events: list[auto.EngineEvent] = []
        with _translated_errors(spec.fleet):
            stack.preview(diff=True, on_event=events.append)
        return diff_from_events(events, state_compared=True)

    def up(self, spec: StackSpec, on_output: Callable[[str], None] | None = None) -> StackOutputs:
        """Create or update the fleet's stack; progress lines go to `on_output`."""
        stack = self._stack(spec)
        with _translated_errors(spec.fleet):
            result = stack.up(on_output=on_output or (lambda _line: None))
        return outputs_from(result.outputs)

    def destroy(self, project: str, fleet: str, cloud: str) -> None:
        """Destroy the fleet's resources and remove its stack; nothing to do is not an error."""
        stack = self._existing_stack(project, fleet, cloud)
        if stack is None:
            return
        with _translated_errors(fleet):
            stack.destroy(on_output=lambda _line: None)
            stack.workspace.remove_stack(stack.name)

    def outputs(self, project: str, fleet: str, cloud: str) -> StackOutputs | None:
        """The outputs of the stack's last `up`; None when the fleet has no stack."""
        stack = self._existing_stack(project, fleet, cloud)
        if stack is None:
            return None
        with _translated_errors(fleet):
            return outputs_from(stack.outputs())

    def cancel(self, project: str, fleet: str, cloud: str) -> None:
        """Cancel a running update of the fleet's stack and release its lock."""
        stack = self._existing_stack(project, fleet, cloud)
        if stack is None:
            return
        with _translated_errors(fleet):
            stack.cancel()

    def list_stacks(self) -> list[StackRef]:
        """Every stack of the fleetstack project in the state backend, with the fleet each was
        brought up for (read from its `fleetstack:spec` config value)."""
        ensure_pulumi_cli()
        from pulumi import automation as auto

        opts = self._opts()
        workspace = auto.LocalWorkspace(
            work_dir=opts.work_dir,
            project_settings=opts.project_settings,
            secrets_provider=opts.secrets_provider,
            env_vars=opts.env_vars,
        )
        refs = []
        with _translated_errors("(listing stacks)"):
            for summary in workspace.list_stacks():
                config = workspace.get_all_config(summary.name)
                spec = config.get(f"{PROJECT_NAME}:spec")
                if spec is None:
                    continue  # not a fleet stack of ours
                fields = json.loads(spec.value)
                refs.append(
                    StackRef(summary.name, fields["project"], fields["fleet"], fields["cloud"])
                )
        return refs

    def _existing_stack(self, project: str, fleet: str, cloud: str) -> auto.Stack | None:
        # destroy and cancel act on the stack as it is: no program, and no stack is no work
        ensure_pulumi_cli()
        from pulumi import automation as auto

        try:
            return auto.select_stack(
                stack_name=stack_name_for(project, fleet, cloud),
                project_name=PROJECT_NAME,
                program=lambda: None,
                opts=self._opts(),
            )
        except auto.StackNotFoundError:
            return None

    def _opts(self) -> auto.LocalWorkspaceOptions:
        from pulumi import automation as auto

        url = settings.backend_url(self.backend_url)
        return auto.LocalWorkspaceOptions(
            work_dir=str(self.work_dir) if self.work_dir else None,
            project_settings=auto.ProjectSettings(
                name=PROJECT_NAME, runtime="python", backend=auto.ProjectBackend(url)
            ),
            secrets_provider="passphrase",
            env_vars={"PULUMI_BACKEND_URL": url, **settings.passphrase_env(self.passphrase_file)},
        )

    def _stack(self, spec: StackSpec) -> auto.Stack:
        ensure_pulumi_cli()
        from pulumi import automation as auto

        with _translated_errors(spec.fleet):
            stack = auto.create_or_select_stack(
                stack_name=spec.stack_name,
                project_name=PROJECT_NAME,
                program=program_for(spec),
                opts=self._opts(),
            )
            stack.set_all_config(
                {
                    k: auto.ConfigValue(value=v.value, secret=v.secret)
                    for k, v in stack_config(spec, self.provider_config).items()
                }
            )
        return stack


def stack_name_for(project: str, fleet: str, cloud: str) -> str:
    """The stack name of a fleet, the same as StackSpec.stack_name."""
    return StackSpec(project, fleet, cloud, "", "", "", "").stack_name


@dataclass(frozen=True)
class StackConfigValue:
    """One value of the stack's config; a secret one is stored encrypted by Pulumi (the
    passphrase provider), never as plain text in the stack's state or Pulumi.<stack>.yaml."""

    value: str
    secret: bool = False


def stack_config(
    spec: StackSpec, provider_config: dict | None = None
) -> dict[str, StackConfigValue]:
    """Provider settings from the spec (overridden by `provider_config`) plus the spec itself.

    The user-data (the instance's job, derived from the run's env) is its own secret value,
    `fleetstack:userData`; `fleetstack:spec` holds the rest of the spec in plain text.
    """
    plain = asdict(spec)
    plain["user_data"] = ""  # in fleetstack:userData, as a secret
    config = {
        "fleetstack:spec": StackConfigValue(json.dumps(plain, sort_keys=True)),
        "fleetstack:userData": StackConfigValue(spec.user_data, secret=True),
    }
    for key, value in program_module(spec.cloud, spec.fleet).stack_settings(spec).items():
        config[key] = StackConfigValue(value)
    for key, value in (provider_config or {}).items():
        config[key] = StackConfigValue(value if isinstance(value, str) else json.dumps(value))
    return config


def outputs_from(outputs: Mapping[str, object]) -> StackOutputs:
    """Typed outputs from `stack.up().outputs` (OutputValue objects or plain values)."""

    def value(key: str) -> object:
        item = outputs.get(key)
        return getattr(item, "value", item)  # an OutputValue, or the plain value itself

    def values(key: str) -> Iterable[object]:
        raw = value(key)
        return raw if isinstance(raw, Iterable) else []

    ssh_user = value("ssh_user")
    return StackOutputs(
        instance_ids=[str(v) for v in values("instance_ids")],
        public_ips=[str(v) for v in values("public_ips") if v],
        private_ips=[str(v) for v in values("private_ips") if v],
        ssh_user="" if ssh_user is None else str(ssh_user),
    )


class _translated_errors:
    """Turn Automation API failures into StackError messages with a next step."""

    def __init__(self, fleet: str) -> None:
        self.fleet = fleet

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> Literal[False]:
        if exc is None or isinstance(exc, StackError):
            return False
        from pulumi import automation as auto

        if isinstance(exc, auto.ConcurrentUpdateError) or "locked" in str(exc).lower():
            raise StackError(
                f"fleet {self.fleet!r}: its stack is locked by another update (or a stale lock "
                f"from a crash); wait for it, or run `dstack fleet cancel {self.fleet}`"
            ) from exc
        if isinstance(exc, auto.CommandError):
            raise StackError(f"fleet {self.fleet!r}: pulumi failed: {_last_lines(exc)}") from exc
        return False


def _last_lines(exc: BaseException) -> str:
    text = str(getattr(exc, "stderr", "") or exc).strip().splitlines()
    return " | ".join(text[-3:])
