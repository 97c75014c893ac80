"""What `dstack validate` reports for one file: valid or not, type, name, resources, error."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigurationError


@dataclass
class FileReport:
    """The outcome of validating one file."""

    file: str
    ok: bool
    type: str | None = None
    name: str | None = None
    resources: dict[str, object] | None = None  # ResourcesSpec.normalized()
    error: str | None = None
    error_file: str | None = None  # where the error is: file, YAML path (a.b[0]) and line
    error_path: str | None = None
    error_line: int | None = None
    env_required: list[str] = field(default_factory=list)  # taken from the env at submit
    not_run_yet: list[str] = field(default_factory=list)  # valid fields apply refuses today
    secrets_required: list[str] = field(default_factory=list)  # `dstack secret set` them
    summary: str = ""  # resources in one line, for the text output

    def as_json(self) -> dict[str, object]:
        """{"file", "ok", "type", "name", "resources", "env_required", "secrets_required",
        "not_supported_yet", "error", "error_path", "error_line"}, as `--json` prints it."""
        return {
            "file": self.file,
            "ok": self.ok,
            "type": self.type,
            "name": self.name,
            "resources": self.resources,
            "env_required": self.env_required,
            "secrets_required": self.secrets_required,
            "not_supported_yet": self.not_run_yet,
            "error": self.error,
            "error_path": self.error_path,
            "error_line": self.error_line,
        }

    def text(self) -> str:
        """`FILE: OK (task NAME: resources)` or the error (file:line: path: message)."""
        if not self.ok:
            return str(self.error)
        name = f" {self.name}" if self.name else ""
        needs = f"; needs {', '.join(self.env_required)} at apply" if self.env_required else ""
        if self.secrets_required:
            needs += f"; needs secrets {', '.join(self.secrets_required)}"
        later = (
            f"; not supported by fleetstack yet: {', '.join(self.not_run_yet)}"
            if self.not_run_yet and self.not_run_yet != ["type"]
            else ""
        )
        return f"{self.file}: OK ({self.type}{name}: {self.summary}{needs}{later})"


def validate_file(file: str, *, profile: str | None = None) -> FileReport:
    """Load `file` as `dstack apply` would, without run arguments and without reading the
    caller's environment; never raises for bad input.

    `${{ run.args }}` is empty and every `${{ secrets.X }}` validates as a placeholder, so a
    file that needs secrets only at apply time still validates; the names it takes from the
    environment at apply are listed in `env_required`.
    """
    from .loader import NotCreatedYet, load_configuration
    from .support import not_run_yet

    try:
        loaded = load_configuration(file, secrets=_AnySecret(), profile=profile)
    except NotCreatedYet as other:
        return FileReport(
            file=file,
            ok=True,
            type=other.configuration.type,
            name=other.configuration.name,
            not_run_yet=["type"],
            summary=f"{other.configuration.type}s are not created by fleetstack yet",
        )
    except ConfigurationError as exc:
        return FileReport(
            file=file,
            ok=False,
            error=str(exc) if exc.file else f"{file}: {exc}",
            error_file=exc.file or file,
            error_path=exc.path,
            error_line=exc.line,
        )
    configuration = loaded.configuration
    return FileReport(
        file=file,
        ok=True,
        type=configuration.type,
        name=configuration.name,
        resources=configuration.resources.normalized(),
        env_required=loaded.env_required,
        not_run_yet=not_run_yet(configuration),
        secrets_required=loaded.secrets_required,
        summary=configuration.resources.pretty(),
    )


class _AnySecret(dict):
    """Every secret exists while validating; its value is a placeholder."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return f"<secret {key}>"
