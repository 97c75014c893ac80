"""A cloud's name is spelled only where that cloud lives: its backend module, the registry,
its Pulumi program and the catalog data. Everything else derives from the registry."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from fleetstack.engine.backends import registry

ROOT = Path(__file__).resolve().parents[3]
SOURCE_DIRS = ("engine", "stacks", "templates", "cli")
# where each name may be written (paths relative to ROOT)
REGISTRY = "engine/backends/registry.py"
CATALOG_ONLY = "engine/backends/catalog_only.py"
HOMES = {
    "aws": {"engine/backends/aws.py", "stacks/aws.py"},
    "gcp": {"engine/backends/gcp.py", "stacks/gcp.py"},
    "azure": {"engine/backends/azure.py", "stacks/azure.py"},
    **{name: {CATALOG_ONLY} for name in ("lambdalabs", "runpod", "oci", "nebius", "verda")},
    "cloudrift": {CATALOG_ONLY},
}
DATA = {"engine/offers/data/make_snapshot.py"}  # the snapshot maker lists gpuhunt providers


LOCAL = "local"  # a word of English too: only the exact literal is the backend's name
LOCAL_HOME = "engine/backends/local/backend.py"


def test_every_registered_cloud_has_a_home_here():
    assert set(registry.backend_names()) - {LOCAL, "ssh"} == set(HOMES)


def test_cloud_names_are_string_literals_only_in_their_own_modules():
    found = []
    for path, literal, line in _literals():
        for name, homes in HOMES.items():
            if _names(literal, name) and path not in homes | {REGISTRY} | DATA:
                found.append(f"{path}:{line}: {literal!r} spells {name!r}")
        if literal == LOCAL and path not in {LOCAL_HOME, REGISTRY}:
            found.append(f"{path}:{line}: the local backend special-cased by name")
    assert found == []


def test_the_check_sees_a_cloud_name_where_it_does_not_belong(tmp_path):
    # the scanner itself: a stray literal is reported; docstrings, comments, descriptions not
    source = (
        '"""Talks to aws."""\n# gcp\nX = "aws"\nY = f"{X}:azure-native:location"\n'
        'Z = Field(description="e.g. [aws, gcp]")\n'
    )
    literals = [lit for lit, _ in _string_literals(source)]
    assert literals == ["aws", ":azure-native:location"]
    assert _names("aws", "aws") and _names(":azure-native:location", "azure")
    assert not _names("lambdalabsx", "lambdalabs")


def _literals():
    for folder in SOURCE_DIRS:
        for file in sorted((ROOT / folder).rglob("*.py")):
            path = file.relative_to(ROOT).as_posix()
            for literal, line in _string_literals(file.read_text()):
                yield path, literal, line


def _string_literals(source: str):
    """Every string constant of `source` but documentation (docstrings, `description=`)."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "description":
            docstrings.update(id(n) for n in ast.walk(node.value))
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and id(node) not in docstrings:
            yield node.value, node.lineno


def _names(literal: str, name: str) -> bool:
    # as a word: "aws", "aws:region", "aws.csv" count; "awsome" does not
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", literal) is not None
