"""dstack's profiles: `.dstack/profiles.yml` of the project and `~/.dstack/profiles.yml`.

A profile's policies (spot_policy, max_price, backends, regions, durations, retry...) fill in
what a configuration leaves out; the configuration's own values win, CLI flags win over both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError

from ..errors import ConfigurationError
from ..paths import dstack_home
from .common import RunProfileParams
from .errors import validation_error
from .yamlfile import YamlDocument, read_yaml

PROFILES_FILE = "profiles.yml"


class Profile(RunProfileParams):
    """One entry of `profiles:` in profiles.yml."""

    name: str = Field(description="Profile name, chosen with --profile NAME")
    default: bool = Field(default=False, description="Use this profile when none is chosen")


@dataclass
class LoadedProfile:
    profile: Profile
    raw: dict[str, object]  # the profile's fields as written, without name and default
    file: str


def profile_files(cwd: Path | None = None) -> list[Path]:
    """The project's profiles.yml and the user's ($DSTACK_HOME/profiles.yml).

    The project's is looked up from the configuration's folder, then from the current
    directory, each time up to the repository root (the first folder holding .git).
    """
    files: list[Path] = []
    starts = [cwd.resolve()] if cwd is not None else []
    starts.append(Path.cwd().resolve())
    project = next((found for s in starts if (found := _project_file(s))), None)
    if project is not None:
        files.append(project)
    user = dstack_home() / PROFILES_FILE
    if user.is_file() and all(user.resolve() != f.resolve() for f in files):
        files.append(user)
    return files


def _project_file(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".dstack" / PROFILES_FILE
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def find_profile(name: str | None, *, cwd: Path | None = None) -> LoadedProfile | None:
    """The profile called `name` (error if missing), else the default one, else None."""
    loaded = [p for path in profile_files(cwd) for p in _read(path)]
    if name is not None:
        for item in loaded:
            if item.profile.name == name:
                return item
        known = ", ".join(sorted({p.profile.name for p in loaded})) or "none"
        raise ConfigurationError(
            f"no profile named {name!r} in .dstack/profiles.yml or "
            f"{dstack_home() / PROFILES_FILE} (profiles: {known})"
        )
    for item in loaded:
        if item.profile.default:
            return item
    return None


def _read(path: Path) -> list[LoadedProfile]:
    doc = read_yaml(path, what="profiles")
    data = doc.data
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("profiles", []), list):
        raise ConfigurationError(
            "expected `profiles:` with a list of profiles, e.g. "
            "profiles: [{name: cheap, default: true, spot_policy: auto}]",
            file=doc.file,
            line=doc.line_of(()),
        )
    extra = [k for k in data if k != "profiles"]
    if extra:
        raise ConfigurationError(
            f"unknown field `{extra[0]}`: profiles.yml holds only `profiles:`",
            file=doc.file,
            path=str(extra[0]),
            line=doc.line_of((extra[0],), key=True),
        )
    return [_validate(doc, i, item) for i, item in enumerate(data.get("profiles") or [])]


def _validate(doc: YamlDocument, index: int, item: object) -> LoadedProfile:
    if not isinstance(item, dict):
        raise ConfigurationError(
            "a profile is a mapping: {name: NAME, spot_policy: ..., ...}",
            file=doc.file,
            path=f"profiles[{index}]",
            line=doc.line_of(("profiles", index)),
        )
    try:
        profile = Profile.model_validate(item)
    except ValidationError as exc:
        raise validation_error(exc, doc, Profile, prefix=("profiles", index)) from None
    raw = {k: v for k, v in item.items() if k not in ("name", "default")}
    return LoadedProfile(profile=profile, raw=raw, file=doc.file)
