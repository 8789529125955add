"""What a reliability scenario reports: one row of docs/reliability.md per hazard tried.

A scenario is a plain function ``(scale) -> list[Figure]``: the tests in this
package call it with a small scale and assert every figure met its target; the
report (``python -m tests.reliability``) calls it with the full scale and writes
the table. The same code proves the defence and measures it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """How hard to try: ``runs`` repeats of a fault, ``kills`` SIGKILLs per database."""

    runs: int
    kills: int

    @classmethod
    def ci(cls) -> Scale:
        return cls(runs=3, kills=6)

    @classmethod
    def full(cls) -> Scale:
        return cls(runs=20, kills=60)


@dataclass(frozen=True)
class Figure:
    area: str  # "fetching", "parsing", "alerting", "running"
    hazard: str  # what was tried, as a user would name it
    tries: int  # how many times
    outcome: str  # what happened, with the measured value ("peak +3.1 MB")
    target: str  # what a user needs ("≤ cap + 20 MB")
    met: bool


Scenario = Callable[[Scale], Sequence[Figure]]


def assert_met(figures: Sequence[Figure]) -> None:
    """For the tests: every figure met its target, or a message naming those that did not."""
    missed = [f for f in figures if not f.met]
    assert not missed, "\n".join(f"{f.hazard}: {f.outcome} (target {f.target})" for f in missed)
