"""Generated run and fleet names, "adjective-animal-N" (e.g. `quiet-otter-1`)."""

from __future__ import annotations

import random
from collections.abc import Callable

ADJECTIVES = (
    "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "eager",
    "fancy", "fast", "fierce", "gentle", "giant", "glad", "golden", "grand", "happy", "humble",
    "jolly", "keen", "kind", "lively", "lucky", "merry", "mighty", "noble", "polite", "proud",
    "quick", "quiet", "rapid", "shiny", "silent", "smart", "steady", "sunny", "swift", "witty",
)  # fmt: skip
ANIMALS = (
    "badger", "beaver", "bison", "cat", "cobra", "crab", "crane", "deer", "dolphin", "eagle",
    "falcon", "ferret", "fox", "gecko", "goose", "heron", "ibis", "jaguar", "koala", "lemur",
    "lion", "llama", "lynx", "mole", "moose", "moth", "newt", "otter", "owl", "panda",
    "parrot", "puma", "quail", "rabbit", "seal", "shark", "sloth", "swan", "tiger", "wolf",
)  # fmt: skip


def generate_name(is_taken: Callable[[str], bool], rng: random.Random | None = None) -> str:
    """A fresh name for which `is_taken` says False: random words, then the lowest free N."""
    rng = rng or random.Random()
    while True:
        stem = f"{rng.choice(ADJECTIVES)}-{rng.choice(ANIMALS)}"
        for n in range(1, 100):
            name = f"{stem}-{n}"
            if not is_taken(name):
                return name
