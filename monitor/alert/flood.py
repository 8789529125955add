"""How many instant messages a route may send now, and which stories go in them.

Pure. A route sends at most ``max_alerts`` instant messages in any
``alert_window`` (default 20 in 10 minutes). When more stories are urgent than
there is room for, the most important go on their own and the last free
message carries all the others together; with no room left, they wait,
unsettled, until the window has room again. Never dropped, never sent twice
(the message and the matches it settles are saved in one transaction), and
never only counted: the message that carries them lists every one (the
route's ``max_entries`` bounds a scheduled digest, not this). Email, files and
webhook JSON hold them all; a chat format shows what fits its service's
limits and counts the rest ("and 431 more").

Why 20 in 10 minutes: that is more distinct urgent stories than a person reads
as they arrive, and more than a watchlist finds in a busy news hour; past it
the cause is a flood (a feed republishing its archive, a rule too broad) that
is better read as one list. It also keeps a chat webhook well under its rate
limit (Slack allows about one message a second) and a mailbox off spam lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.core.alerting import Candidate


@dataclass(frozen=True, slots=True)
class Plan:
    alone: tuple[str, ...] = ()  # story keys, one message each
    together: tuple[str, ...] = ()  # story keys in one message (empty: no such message)


def plan(ranked: Sequence[str], room: int) -> Plan:
    """The messages for ``ranked`` story keys (most important first) with ``room``
    messages left in the window; the keys in neither part wait."""
    if room <= 0:
        return Plan()
    if len(ranked) <= room:
        return Plan(alone=tuple(ranked))
    return Plan(alone=tuple(ranked[: room - 1]), together=tuple(ranked[room - 1 :]))


def rank(candidates: Iterable[Candidate], keys: Iterable[str]) -> list[str]:
    """Story keys, best score first, then the earliest published (the news that broke first)."""
    wanted = set(keys)
    best: dict[str, tuple[float, float, str]] = {}
    for c in candidates:
        if c.story_key in wanted:
            order = (-c.score, c.published.timestamp(), c.story_key)
            best[c.story_key] = min(order, best.get(c.story_key, order))
    return sorted(best, key=best.__getitem__)
