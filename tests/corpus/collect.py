"""Collect the shapes of dstack's documented configurations into tests/corpus/docs/*.yml.

    python tests/corpus/collect.py /path/to/dstack-git-dir [REV ...]

Reads every ```yaml block (and every *.dstack.yml / *.dstack.yaml file) under mkdocs/, docs/
and examples/ at each git revision given (default HEAD) and keeps the ones whose top level has
`type:` of a configuration fleetstack reads. Each is stored only as rewrite.py's rewrite: the
same keys, value kinds and value forms (what decides validity), our own names, commands,
values, images, paths and URLs, no comments. dstack's text is never written here: a case
keeps only `source:`, the documentation file and revision it was shaped after, a reference.
Documents YAML cannot read are left out (there is no structure to keep), and so are exact
duplicates, before and after the rewrite. Names are stable (source file and a digest of the
collected document), so re-collecting keeps the verdicts of cases that did not change. Run
refresh.py afterwards, and check no case changed its verdict (`git diff verdicts.yml`).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import yaml
from rewrite import HEADER, rewrite_cases

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
            if not _readable(text):
                print(f"{source}@{rev}: left out, YAML cannot read it", file=sys.stderr)
                continue
            seen.add(text)
            digest = hashlib.sha256(text.encode()).hexdigest()[:8]
            stem = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")
            cases[kind].append(
                {"name": f"{stem}-{digest}", "source": f"{source}@{rev}", "yaml": text}
            )
    for kind, items in cases.items():
        items.sort(key=lambda c: c["name"])
        kept, dropped = rewrite_cases(items)
        out = HERE / "docs" / f"{kind}.yml"
        out.parent.mkdir(exist_ok=True)
        out.write_text(
            HEADER.format(kind=kind)
            + "\n"
            + yaml.safe_dump(kept, sort_keys=False, allow_unicode=True, width=100)
        )
        print(f"{out}: {len(kept)} cases ({len(dropped)} duplicates once rewritten)")


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


def _readable(text: str) -> bool:
    try:
        return isinstance(yaml.safe_load(text), dict)
    except yaml.YAMLError:
        return False


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
