"""Collect configurations from a dstack checkout's documentation into tests/corpus/docs/*.yml.

    python tests/corpus/collect.py /path/to/dstack-git-dir [REV ...]

Reads every ```yaml block (and every *.dstack.yml / *.dstack.yaml file) under mkdocs/, docs/
and examples/ at each git revision given (default HEAD), keeps the ones whose top level has
`type:` of a configuration fleetstack reads, drops exact duplicates, and writes one file per
type: a list of {name, source, yaml}. Names are stable (source file and a content digest),
so re-collecting keeps the verdicts of cases that did not change. Run refresh.py afterwards.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent
TYPES = ("task", "service", "dev-environment", "fleet", "gateway", "volume")
_BLOCK = re.compile(r"```ya?ml[^\n]*\n(.*?)```", re.S)


def main(argv: list[str]) -> None:
    git_dir, revisions = argv[0], argv[1:] or ["HEAD"]
    cases: dict[str, list[dict[str, str]]] = {kind: [] for kind in TYPES}
    seen: set[str] = set()
    for rev in revisions:
        for source, text in _documents(git_dir, rev):
            kind = _kind(text)
            if kind is None or text in seen:
                continue
            seen.add(text)
            digest = hashlib.sha256(text.encode()).hexdigest()[:8]
            stem = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")
            cases[kind].append(
                {"name": f"{stem}-{digest}", "source": f"{source}@{rev}", "yaml": text}
            )
    for kind, items in cases.items():
        items.sort(key=lambda c: c["name"])
        out = HERE / "docs" / f"{kind}.yml"
        out.parent.mkdir(exist_ok=True)
        out.write_text(
            f"# `type: {kind}` configurations from dstack's documentation (collect.py)\n"
            + yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=100)
        )
        print(f"{out}: {len(items)} cases")


def _documents(git_dir: str, rev: str) -> list[tuple[str, str]]:
    names = _git(git_dir, "ls-tree", "-r", "--name-only", rev).split()
    found: list[tuple[str, str]] = []
    for name in names:
        if not name.startswith(("mkdocs/", "docs/", "examples/")):
            continue
        if name.endswith(".md"):
            text = _git(git_dir, "show", f"{rev}:{name}")
            found += [(name, _dedent(b)) for b in _BLOCK.findall(text)]
        elif name.endswith((".dstack.yml", ".dstack.yaml")):
            found.append((name, _dedent(_git(git_dir, "show", f"{rev}:{name}"))))
    return found


def _kind(text: str) -> str | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    if isinstance(data, dict):
        return data.get("type") if data.get("type") in TYPES else None
    match = re.search(r"^type:\s*([a-z-]+)\s*$", text, re.M)  # a block YAML cannot read
    return match.group(1) if match and match.group(1) in TYPES else None


def _dedent(block: str) -> str:
    lines = block.rstrip().split("\n")
    indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
    return "\n".join(x[indent:] for x in lines).strip("\n") + "\n"


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, *args], capture_output=True, text=True, check=True
    ).stdout


if __name__ == "__main__":
    main(sys.argv[1:])
