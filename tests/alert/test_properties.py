"""Invariants of digests and schedules, over inputs hypothesis makes up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alert.digest import build
from monitor.alert.schedule import initial_end, next_period, parse
from monitor.core.alerting import Candidate
from tests.alert.test_digest import candidate

ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
CRONS = ["0 8 * * *", "30 1 * * *", "30 2 * * *", "*/20 1 * * *", "0 */6 * * *", "15 3 * * 0"]
# Days around the changes of clocks in the zones above, where schedules go wrong.
CHANGES = [
    datetime(2026, 3, 28),
    datetime(2026, 10, 24),
    datetime(2026, 3, 7),
    datetime(2026, 10, 31),
    datetime(2026, 4, 4),
]

candidates = st.lists(
    st.builds(
        lambda i, story, rule, score, copy: candidate(
            i, f"s{story}", f"r{rule}", float(score), copy=copy
        ),
        st.integers(1, 10_000),
        st.integers(0, 8),
        st.integers(0, 3),
        st.integers(0, 50),
        st.booleans(),
    ),
    max_size=40,
    unique_by=lambda c: c.match_id,
)


@given(
    candidates,
    st.dictionaries(
        st.sampled_from([f"s{i}" for i in range(9)]),
        st.sets(st.tuples(st.just("nk"), st.sampled_from(["r0", "r1", "r2", "r3"]))),
    ),
    st.integers(1, 10),
)
def test_a_digest_tells_each_story_once_and_settles_every_candidate(
    found: list[Candidate], sent: dict[str, set[tuple[str, str]]], cap: int
) -> None:
    digest = build(found, sent, {}, cap)
    keys = [e.story_key for e in digest.entries]
    assert len(keys) == len(set(keys)) <= cap
    assert {m for m, _ in digest.settled} == {c.match_id for c in found}
    for entry in digest.entries:
        before = sent.get(entry.story_key, set())
        assert entry.update == (entry.story_key in sent)
        assert not any((w, r) in before for w, r, _ in entry.rules)  # only what is new
    told = len(digest.entries) + digest.more
    fresh = {
        c.story_key for c in found if (c.watchlist, c.rule) not in sent.get(c.story_key, set())
    }
    assert told == len(fresh)


@settings(deadline=None, max_examples=150)
@given(
    st.sampled_from(CRONS),
    st.sampled_from(ZONES),
    st.one_of(
        st.builds(
            lambda day, h: day + timedelta(hours=h), st.sampled_from(CHANGES), st.integers(0, 47)
        ),
        st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
    ),
    st.integers(1, 90),
)
def test_periods_never_repeat_a_local_time_and_always_move_forward(
    expr: str, zone: str, start: datetime, step_minutes: int
) -> None:
    schedule = parse(expr, zone)
    now = start.replace(tzinfo=UTC)
    last_end, last_key = initial_end(schedule, now), None
    keys: list[str] = []
    for _ in range(200):
        now += timedelta(minutes=step_minutes)
        period = next_period(schedule, last_end, last_key, now)
        if period is None:
            continue
        assert period.end <= now and (last_end is None or period.end > last_end)
        if not period.repeat:
            keys.append(period.key)
        last_end, last_key = period.end, period.key
    assert len(keys) == len(set(keys))
