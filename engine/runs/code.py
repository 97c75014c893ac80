"""The job's copy of the user's project, as dstack's code upload would have it.

    root = project_root(Path("examples/train.dstack.yml"))   # the repo around the file
    copied = copy_project(root, job_dir / "code")

Files that `.gitignore` (at any depth) or `.dstackignore` exclude are left out, with git's
rules: patterns are relative to the folder of the ignore file, a deeper file's rule wins, a
`!pattern` re-includes, and nothing inside an excluded folder comes back. `.git` is never
copied. Symbolic links are copied as links, file modes are kept.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

import pathspec

IGNORE_FILES = (".gitignore", ".dstackignore")
ALWAYS_SKIPPED = frozenset({".git"})


def project_root(configuration_path: Path) -> Path:
    """The folder dstack would upload for this configuration file.

    The nearest folder at or above the file's folder that holds `.git` (the repo), else the
    file's own folder.
    """
    start = configuration_path.resolve().parent
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def copy_project(src: Path, dst: Path, *, skip: Iterable[Path] = ()) -> int:
    """Copy the project `src` into `dst` (created); returns the number of files copied.

    Folders in `skip` (e.g. $DSTACK_HOME when it lives inside the project) are left out, as
    is `dst` itself: the copy may live inside the project.
    """
    src = Path(src).resolve()
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    skipped = {dst.resolve(), *(Path(p).resolve() for p in skip)}
    specs: dict[Path, list[tuple[Path, pathspec.PathSpec]]] = {}
    copied = 0
    for folder, dirnames, filenames in os.walk(src, followlinks=False):
        here = Path(folder)
        rel_here = here.relative_to(src)
        parent_specs = specs.get(here.parent, []) if here != src else []
        own = _read_specs(here)
        active = parent_specs + [(here, spec) for spec in own]
        specs[here] = active
        target = dst / rel_here
        target.mkdir(exist_ok=True)
        kept_dirs = []
        for name in sorted(dirnames):
            path = here / name
            if name in ALWAYS_SKIPPED or path in skipped or _ignored(path, True, active):
                continue
            if path.is_symlink():
                _copy_link(path, target / name)
                copied += 1
                continue
            kept_dirs.append(name)
        dirnames[:] = kept_dirs
        for name in filenames:
            path = here / name
            if name in ALWAYS_SKIPPED or _ignored(path, False, active):
                continue
            if path.is_symlink():
                _copy_link(path, target / name)
            else:
                try:
                    shutil.copy2(path, target / name)
                    _owner_only(target / name)
                except OSError:
                    continue  # a socket, fifo or unreadable file: not part of the project
            copied += 1
        if rel_here != Path("."):
            shutil.copystat(here, target, follow_symlinks=False)
            _owner_only(target)
    return copied


def _owner_only(path: Path) -> None:
    """The copy keeps the owner's bits only: a copy under $DSTACK_HOME is private."""
    os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) & 0o700)


def _read_specs(folder: Path) -> list[pathspec.PathSpec]:
    found: list[pathspec.PathSpec] = []
    for name in IGNORE_FILES:
        try:
            lines = (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        found.append(pathspec.GitIgnoreSpec.from_lines(lines))
    return found


def _ignored(path: Path, is_dir: bool, active: list[tuple[Path, pathspec.PathSpec]]) -> bool:
    """Git's answer: the deepest ignore file with a matching rule decides."""
    for base, spec in reversed(active):
        rel = path.relative_to(base).as_posix()
        if is_dir:
            rel += "/"
        result = spec.check_file(rel)
        if result.include is not None:
            return bool(result.include)
    return False


def _copy_link(path: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    os.symlink(os.readlink(path), target)
