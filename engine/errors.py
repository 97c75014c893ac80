"""Errors a user can cause. The CLI prints them in one or two lines and exits 1."""

from __future__ import annotations


class FleetstackError(Exception):
    """An expected failure with a message meant for the user (no traceback)."""


class ConfigurationError(FleetstackError):
    """A configuration file is invalid: the message names file, YAML path, line and fix."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        path: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.path = path
        self.line = line
        self.reason = message
        where = file or ""
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        prefix = f"{where}: " if where else ""
        field = f"{path}: " if path else ""
        super().__init__(f"{prefix}{field}{message}")
