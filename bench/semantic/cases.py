"""The frozen evaluation set read as typed values (bench/semantic/README.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases.jsonl"
CONCEPTS = HERE / "concepts.yaml"
SPLITS = ("heldout", "tune", "all")
LITERAL = "literal"  # the one positive kind that carries a listed term


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    concept: str
    label: str  # positive | trap | negative
    kind: str
    split: str  # tune | heldout
    text: str

    @property
    def paraphrased(self) -> bool:
        """A positive worded without the listed terms (every kind but ``literal``)."""
        return self.label == "positive" and self.kind != LITERAL


def read_cases(split: str, path: Path = CASES) -> tuple[Case, ...]:
    """The cases of ``split`` ("all": both halves), in file order."""
    cases = tuple(Case(**json.loads(line)) for line in path.read_text().splitlines() if line)
    return tuple(c for c in cases if split == "all" or c.split == split)


def concepts_of(cases: Sequence[Case]) -> tuple[str, ...]:
    """The concepts in the order the file first names them."""
    return tuple(dict.fromkeys(c.concept for c in cases))
