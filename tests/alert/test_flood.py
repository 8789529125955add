"""A flood of matches makes a handful of instant messages, and loses no story."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alert.flood import plan
from monitor.config import Config
from monitor.core.alerting import DeliveryInfo
from tests.alert.world import cycle, open_app, sample_config, write_feed
from tests.conftest import FakeClock
from tests.receivers import WebhookReceiver

CAP, WINDOW = 20, timedelta(minutes=10)  # the defaults


def word(i: int) -> str:
    """A distinct word per number, in letters: numbers alone do not tell stories apart."""
    return "".join("abcdefghij"[int(d)] for d in str(i))


def flood(path: Path, first: int, count: int) -> list[str]:
    """``count`` distinct matching stories in the feed; their titles."""
    published = datetime(2024, 11, 8, 11, 0, tzinfo=UTC)
    items = [
        (
            f"flood-{i}",
            f"North Korean troops reach the {word(i)} front",
            f"North Korea has deployed troops to Russia near {word(i)}; Pyongyang confirmed "
            "the soldiers were sent to the Kursk region.",
            published + timedelta(seconds=i),
        )
        for i in range(first, first + count)
    ]
    write_feed(path, items)
    return [title for _, title, _, _ in items]


def titles_received(receiver: WebhookReceiver) -> Counter[str]:
    told: Counter[str] = Counter()
    for request in receiver.accepted():
        payload = json.loads(request.body)
        told.update(e["title"] for g in payload["groups"] for e in g["entries"])
    return told


def flood_config(tmp: Path, routes: str) -> Config:
    """These ``routes`` on the one feed a test floods (``extra.rss``), with duplicate
    detection off: the flood's stories are alike, and each must arrive."""
    extra = "duplicates: {enabled: false}"
    return sample_config(tmp, f"sqlite:///{tmp / 'm.db'}", routes, extra, feeds={})


def hook_route(url: str, settings: str) -> str:
    """A route sending each alert at once, with these ``settings``, to the webhook at ``url``."""
    return f"  - {{name: hook, schedule: instant, {settings}, webhook: {{url: '{url}'}}}}\n"


def busiest_window(deliveries: list[DeliveryInfo]) -> int:
    """The most messages in any window of WINDOW, by when they were made."""
    times = sorted(d.created_at for d in deliveries)
    return max((sum(1 for t in times if start <= t < start + WINDOW) for start in times), default=0)


def test_500_matching_entries_make_at_most_the_cap_of_messages_and_every_story_arrives_once(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver
) -> None:
    cfg = flood_config(tmp_path, hook_route(webhook_receiver.url(), "max_entries: 1000"))
    titles = flood(tmp_path / "feeds" / "extra.rss", 0, 500)
    with open_app(cfg, clock) as app:
        report = cycle(app)
        assert report.alerts == CAP and report.sent == CAP
        assert len(webhook_receiver.accepted()) == CAP
        # 19 stories on their own, the most important first; the 481 others together.
        sizes = sorted(json.loads(r.body)["count"] for r in webhook_receiver.accepted())
        assert sizes == [1] * (CAP - 1) + [500 - CAP + 1]
        assert titles_received(webhook_receiver) == Counter(titles)

        # More arrive inside the window: they wait for it, then go, never dropped.
        clock.advance(minutes=3)
        later = flood(tmp_path / "feeds" / "extra.rss", 500, 30)
        assert cycle(app).alerts == 0
        assert len(webhook_receiver.accepted()) == CAP
        clock.advance(minutes=7, seconds=1)
        report = cycle(app)
        assert report.alerts == CAP
        clock.advance(hours=1)
        assert cycle(app).alerts == 0  # nothing twice
        deliveries = app.repo.deliveries(limit=1000)
    assert {d.state for d in deliveries} == {"sent"}
    assert busiest_window(deliveries) <= CAP
    assert titles_received(webhook_receiver) == Counter(titles + later)  # each exactly once


def test_a_routes_own_cap_and_window(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver
) -> None:
    route = hook_route(webhook_receiver.url(), "max_alerts: 3, alert_window: 1h")
    cfg = flood_config(tmp_path, route)
    titles = flood(tmp_path / "feeds" / "extra.rss", 0, 10)
    with open_app(cfg, clock) as app:
        assert cycle(app).alerts == 3
        clock.advance(minutes=59)
        titles += flood(tmp_path / "feeds" / "extra.rss", 10, 2)
        assert cycle(app).alerts == 0
        clock.advance(minutes=1, seconds=1)
        assert cycle(app).alerts == 2  # each alone: there is room for both
    assert titles_received(webhook_receiver) == Counter(titles)


@pytest.mark.parametrize(
    ("stories", "room", "alone", "together"),
    [
        (0, 20, 0, 0),
        (5, 20, 5, 0),
        (20, 20, 20, 0),
        (21, 20, 19, 2),
        (500, 20, 19, 481),
        (500, 1, 0, 500),
        (500, 0, 0, 0),
        (3, -2, 0, 0),
    ],
)
def test_the_plan_never_passes_the_room_left_and_leaves_no_story_out_but_for_waiting(
    stories: int, room: int, alone: int, together: int
) -> None:
    keys = [f"s{i}" for i in range(stories)]
    made = plan(keys, room)
    assert (len(made.alone), len(made.together)) == (alone, together)
    assert len(made.alone) + bool(made.together) <= max(room, 0)
    assert list(made.alone) + list(made.together) == (keys if room > 0 else [])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 60), min_size=1, max_size=40),  # stories arriving per check
    st.integers(1, 25),
    st.integers(1, 20),  # the window, in checks
)
def test_planned_alerts_never_pass_the_cap_in_any_window_and_tell_every_story_once(
    arrivals: list[int], cap: int, window: int
) -> None:
    """Checks one after another, as the stage runs them: room is the cap less the
    messages of the last ``window`` checks; what waits is planned again next time."""
    waiting: list[str] = []
    made: list[int] = []  # the check each message was made in
    told: Counter[str] = Counter()
    for check, count in enumerate([*arrivals, *[0] * (len(arrivals) * window + 1)]):
        waiting += [f"s{check}-{i}" for i in range(count)]
        room = cap - sum(1 for at in made if at > check - window)
        done = plan(waiting, room)
        made += [check] * (len(done.alone) + bool(done.together))
        told.update([*done.alone, *done.together])
        waiting = [key for key in waiting if key not in told]
    assert not waiting
    assert told == Counter(f"s{c}-{i}" for c, n in enumerate(arrivals) for i in range(n))
    assert all(sum(1 for at in made if start <= at < start + window) <= cap for start in made)


def test_at_the_defaults_the_overflow_message_lists_every_story_and_chat_counts_the_rest(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver
) -> None:
    """max_entries 50, 20 messages in 10 minutes, 500 stories: nothing only counted."""
    with WebhookReceiver() as slack:
        routes = (
            f"  - {{name: hook, schedule: instant, webhook: {{url: '{webhook_receiver.url()}'}}}}\n"
            f"  - {{name: chat, schedule: instant, webhook: {{url: '{slack.url()}', "
            "format: slack}}\n"
        )
        cfg = flood_config(tmp_path, routes)
        titles = flood(tmp_path / "feeds" / "extra.rss", 0, 500)
        with open_app(cfg, clock) as app:
            assert cycle(app).sent == 2 * CAP
        payloads = [json.loads(r.body) for r in webhook_receiver.accepted()]
        chats = [json.loads(r.body) for r in slack.accepted()]
    # The webhook JSON: 19 alerts of one story, then one message of all 481 others.
    assert sorted((p["type"], p["count"], p["more"]) for p in payloads) == [("alert", 1, 0)] * (
        CAP - 1
    ) + [("alerts", 500 - CAP + 1, 0)]
    assert titles_received(webhook_receiver) == Counter(titles)
    # Slack: as many as fit in a message, the rest counted, the header tells them all.
    (overflow,) = [c for c in chats if c["text"].endswith(f"{500 - CAP + 1} stories")]
    shown = sum(1 for b in overflow["blocks"] if "front" in b.get("text", {}).get("text", ""))
    (left,) = [
        int(m)
        for b in overflow["blocks"]
        for e in b.get("elements", [])
        for m in re.findall(r"and (\d+) more", e["text"])
    ]
    assert shown + left == 500 - CAP + 1 and shown > 20


def test_the_overflow_message_is_typed_alerts_in_webhook_json(
    tmp_path: Path, clock: FakeClock, webhook_receiver: WebhookReceiver
) -> None:
    cfg = flood_config(tmp_path, hook_route(webhook_receiver.url(), "max_alerts: 2"))
    flood(tmp_path / "feeds" / "extra.rss", 0, 5)
    with open_app(cfg, clock) as app:
        assert cycle(app).alerts == 2
    kinds = sorted(
        (p["type"], p["count"])
        for p in map(json.loads, (r.body for r in webhook_receiver.accepted()))
    )
    assert kinds == [("alert", 1), ("alerts", 4)]
