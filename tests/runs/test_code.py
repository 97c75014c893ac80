"""copy_project: the job's working copy honours .gitignore (nested) and .dstackignore."""

from __future__ import annotations

import os
from pathlib import Path

from fleetstack.engine.runs.code import copy_project, project_root


def _tree(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    }


def _write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def test_gitignore_dstackignore_and_nested_rules(tmp_path):
    src = tmp_path / "src"
    _write(
        src,
        {
            ".gitignore": "*.log\n!keep.log\nbuild/\n/data\n",
            ".dstackignore": "secrets.txt\n",
            "train.py": "print(1)\n",
            "a.log": "x",
            "keep.log": "x",
            "secrets.txt": "x",
            "build/out.bin": "x",
            "data/big.bin": "x",
            "sub/data/small.txt": "x",  # /data is anchored to the root: this one stays
            "sub/.gitignore": "*.tmp\n!a.log\n",
            "sub/x.tmp": "x",
            "sub/a.log": "x",  # re-included by the deeper file
            "sub/b.log": "x",
            ".git/HEAD": "ref: refs/heads/main\n",
        },
    )
    count = copy_project(src, tmp_path / "dst")
    copied = _tree(tmp_path / "dst")
    assert copied == {
        ".gitignore",
        ".dstackignore",
        "train.py",
        "keep.log",
        "sub/.gitignore",
        "sub/data/small.txt",
        "sub/a.log",
    }
    assert count == len(copied)


def test_nothing_comes_back_from_an_ignored_folder(tmp_path):
    src = tmp_path / "src"
    _write(src, {".gitignore": "out/\n!out/keep.txt\n", "out/keep.txt": "x", "ok.txt": "x"})
    copy_project(src, tmp_path / "dst")
    assert _tree(tmp_path / "dst") == {".gitignore", "ok.txt"}


def test_modes_and_symlinks_are_kept(tmp_path):
    src = tmp_path / "src"
    _write(src, {"run.sh": "echo hi\n"})
    os.chmod(src / "run.sh", 0o755)
    os.symlink("run.sh", src / "link.sh")
    copy_project(src, tmp_path / "dst")
    assert os.access(tmp_path / "dst" / "run.sh", os.X_OK)
    assert os.readlink(tmp_path / "dst" / "link.sh") == "run.sh"


def test_a_copy_inside_the_project_is_not_copied_into_itself(tmp_path):
    src = tmp_path / "src"
    _write(src, {"a.txt": "x"})
    copy_project(src, src / "runs" / "copy")
    assert _tree(src / "runs" / "copy") == {"a.txt"}


def test_project_root_is_the_repo_around_the_file(tmp_path):
    _write(tmp_path / "repo", {".git/HEAD": "x", "examples/t.dstack.yml": "type: task\n"})
    assert project_root(tmp_path / "repo" / "examples" / "t.dstack.yml") == tmp_path / "repo"
    _write(tmp_path / "plain", {"t.dstack.yml": "type: task\n"})
    assert project_root(tmp_path / "plain" / "t.dstack.yml") == tmp_path / "plain"


def test_skipped_folders_are_left_out(tmp_path):
    src = tmp_path / "src"
    _write(src, {"a.txt": "x", "home/state.db": "x", "home/runs/old/code/a.txt": "x"})
    copy_project(src, tmp_path / "dst", skip=[src / "home"])
    assert _tree(tmp_path / "dst") == {"a.txt"}
