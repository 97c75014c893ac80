"""Generated run and fleet names, "adjective-animal-N" (e.g. `quiet-otter-1`)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path


def _word_lists() -> dict[str, tuple[str, ...]]:
    text = (Path(__file__).parent / "names.txt").read_text()
    lists = (line.split(":", 1) for line in text.splitlines() if line and line[0] != "#")
    return {key.strip(): tuple(value.split()) for key, value in lists}


_WORDS = _word_lists()
ADJECTIVES = _WORDS["adjectives"]
ANIMALS = _WORDS["animals"]


def generate_name(is_taken: Callable[[str], bool], rng: random.Random | None = None) -> str:
    """A fresh name for which `is_taken` says False: random words, then the lowest free N."""
    rng = rng or random.Random()
    while True:
        stem = f"{rng.choice(ADJECTIVES)}-{rng.choice(ANIMALS)}"
        for n in range(1, 100):
            name = f"{stem}-{n}"
            if not is_taken(name):
                return name
