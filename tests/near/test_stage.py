"""The near stage on a real database: copies found across runs, restarts and edits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from monitor.app import near_limits
from monitor.config import DuplicateSettings
from monitor.core.types import Entry, Feed, FeedSpec, PollUpdate
from monitor.dedup.decide import EXACT_COPIES
from monitor.dedup.keys import with_hashes
from monitor.near.decide import KEY_CAP, REFILE_AFTER, Batch
from monitor.near.filing import text_keys
from monitor.near.stage import NearStage
from monitor.store.models import SketchKeyRow
from monitor.store.repository import Repository
from tests.conftest import FakeClock

WIRE = """NATO Secretary General Mark Rutte said on Monday that North Korean troops had
been sent to Russia and deployed to the Kursk region, calling it a significant escalation.

Rutte told reporters in Brussels that the alliance had confirmed the deployment with
intelligence from allies, and that Pyongyang had also supplied artillery shells and
ballistic missiles to Moscow in recent months.

Ukraine's defence minister Rustem Umerov said the first units had been seen near the
border, while the Kremlin declined to comment on the reports.

South Korea's president Yoon Suk Yeol called for a response from the international
community, and said Seoul would review its support for Kyiv."""

OTHER = """The Bank of England left interest rates unchanged on Thursday, with governor
Andrew Bailey saying inflation was falling more slowly than hoped in the services sector.

Economists at Barclays and HSBC had expected the decision, and markets now see the first
cut in the spring. Sterling rose against the dollar after the announcement.

Mortgage lenders in Manchester and Leeds said demand had picked up in the autumn."""


def entry(guid: str, title: str, text: str, published: datetime) -> Entry:
    return with_hashes(
        Entry(
            guid=guid,
            url=None,
            canonical_url=None,
            title=title,
            summary="",
            content=text,
            authors=(),
            language="en",
            published=published,
        )
    )


@pytest.fixture
def repo(db_url: str, clock: FakeClock) -> Iterator[Repository]:
    repository = Repository.open(db_url, exact=EXACT_COPIES)
    yield repository
    repository.close()


def store(repo: Repository, clock: FakeClock, feed_url: str, *entries: Entry) -> None:
    repo.add_feed(FeedSpec(feed_url), "cli", clock.now())
    info = repo.find_feed(feed_url)
    assert info is not None
    feed = Feed(info.id, feed_url)
    update = PollUpdate(feed.id, "ok", clock.now(), None)
    repo.save_poll(feed, update, list(entries))


def stage(repo: Repository, clock: FakeClock, **settings: object) -> NearStage:
    return NearStage(repo, clock, *near_limits(DuplicateSettings.model_validate(settings)))


def verdicts(repo: Repository) -> dict[str, tuple[str | None, str | None, int | None]]:
    """title -> (title of the original it copies, reason, story)."""
    rows = list(repo.export_articles())
    titles = {r["id"]: r["title"] for r in rows}
    return {
        r["title"]: (titles.get(r["duplicate_of"]), r["duplicate_reason"], r["story_id"])
        for r in rows
    }


def edited(text: str) -> str:
    """A reprint: a dateline, the last paragraph dropped, a footer."""
    paragraphs = text.split("\n\n")
    return "BRUSSELS (Wire) - " + "\n\n".join(paragraphs[:-1]) + "\n\nComments are closed."


T0 = datetime(2024, 10, 28, 14, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_a_copy_arriving_in_a_later_run_of_a_restarted_monitor_is_linked(
    db_url: str, clock: FakeClock
) -> None:
    first = Repository.open(db_url, exact=EXACT_COPIES)
    store(first, clock, "https://wire.example/feed", entry("w1", "Wire story", WIRE, T0))
    assert stage(first, clock).run().articles == 1
    first.close()

    second = Repository.open(db_url, exact=EXACT_COPIES)  # the sketches were kept in the database
    later = T0 + timedelta(hours=3)
    store(second, clock, "https://site.example/feed", entry("s1", "Reprint", edited(WIRE), later))
    report = stage(second, clock).run()
    assert (report.articles, report.copies) == (1, 1)
    found = verdicts(second)
    assert found["Reprint"][:2] == ("Wire story", "reprint")
    assert found["Reprint"][2] == found["Wire story"][2]  # one story
    second.close()


def test_an_original_seen_after_its_copy_becomes_the_original(
    repo: Repository, clock: FakeClock
) -> None:
    store(repo, clock, "https://site.example/feed", entry("s1", "Reprint", edited(WIRE), T0))
    stage(repo, clock).run()
    store(
        repo,
        clock,
        "https://wire.example/feed",
        entry("w1", "Wire story", WIRE, T0 - timedelta(hours=2)),
    )
    stage(repo, clock).run()
    found = verdicts(repo)
    assert found["Wire story"][:2] == (None, None)
    assert found["Reprint"][:2] == ("Wire story", "reprint")


def test_unrelated_articles_are_neither_copies_nor_one_story(
    repo: Repository, clock: FakeClock
) -> None:
    store(
        repo,
        clock,
        "https://a.example/feed",
        entry("w1", "Wire story", WIRE, T0),
        entry("o1", "Rates", OTHER, T0 + timedelta(hours=1)),
    )
    stage(repo, clock).run()
    found = verdicts(repo)
    assert found["Rates"][:2] == (None, None)
    assert found["Rates"][2] != found["Wire story"][2]


def test_a_copy_outside_the_window_is_a_new_article(repo: Repository, clock: FakeClock) -> None:
    store(repo, clock, "https://wire.example/feed", entry("w1", "Wire story", WIRE, T0))
    stage(repo, clock, window="2d").run()
    late = T0 + timedelta(days=3)
    store(repo, clock, "https://site.example/feed", entry("s1", "Reprint", edited(WIRE), late))
    stage(repo, clock, window="2d").run()
    assert verdicts(repo)["Reprint"][:2] == (None, None)


def test_an_edited_article_is_sketched_again_and_keeps_its_story(
    repo: Repository, clock: FakeClock
) -> None:
    store(repo, clock, "https://wire.example/feed", entry("w1", "Wire story", WIRE, T0))
    stage(repo, clock).run()
    story = verdicts(repo)["Wire story"][2]
    clock.advance(minutes=30)
    changed = WIRE.replace("significant escalation", "dangerous escalation")
    store(repo, clock, "https://wire.example/feed", entry("w1", "Wire story", changed, T0))
    assert stage(repo, clock).run().articles == 1  # the new text was compared again
    assert verdicts(repo)["Wire story"] == (None, None, story)
    late = T0 + timedelta(hours=5)
    store(repo, clock, "https://site.example/feed", entry("s1", "Reprint", edited(changed), late))
    stage(repo, clock).run()
    assert verdicts(repo)["Reprint"] == ("Wire story", "reprint", story)


def test_purged_bodies_keep_their_sketches_so_an_old_story_is_not_new(
    repo: Repository, clock: FakeClock
) -> None:
    store(repo, clock, "https://wire.example/feed", entry("w1", "Wire story", WIRE, T0))
    stage(repo, clock).run()
    clock.advance(days=2)
    repo.mark_all_matched(clock.now())  # bodies are purged only once matched and sketched
    assert repo.purge_bodies(clock.now() - timedelta(days=1), clock.now()) == 1
    assert next(iter(repo.export_articles()))["content"] == ""
    late = T0 + timedelta(days=2)
    store(repo, clock, "https://site.example/feed", entry("s1", "Reprint", edited(WIRE), late))
    stage(repo, clock).run()
    assert verdicts(repo)["Reprint"][:2] == ("Wire story", "reprint")


def test_a_key_shared_by_too_many_sketches_stops_growing(
    repo: Repository, clock: FakeClock
) -> None:
    # Reprints of one story, each with its own footer and days after the one before
    # (so each is filed where the others are, see the next test): their keys saturate.
    entries = [
        entry(f"c{i}", f"Copy {i}", f"{WIRE}\n\nFooter {i}.", T0 + i * (REFILE_AFTER + MINUTE))
        for i in range(KEY_CAP + 5)
    ]
    store(repo, clock, "https://farm.example/feed", *entries)
    stage(repo, clock, window=90 * 86400).run()
    assert max(_rows_per_key(repo)) == KEY_CAP
    found = verdicts(repo)
    assert all(found[f"Copy {i}"][0] == "Copy 0" for i in range(1, KEY_CAP + 5))


def _rows_per_key(repo: Repository) -> list[int]:
    with repo.engine.connect() as conn:
        query = select(func.count()).select_from(SketchKeyRow).group_by(SketchKeyRow.key)
        return list(conn.execute(query).scalars())


def _filed(repo: Repository) -> int:
    with repo.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SketchKeyRow)).scalar_one())


def test_the_same_day_copies_of_a_wire_story_add_no_index_rows_and_are_all_found(
    repo: Repository, clock: FakeClock
) -> None:
    store(repo, clock, "https://wire.example/feed", entry("w", "Wire story", WIRE, T0))
    stage(repo, clock).run()
    original = _filed(repo)
    # Reprints with a footer each (the same text would be linked before, by its hash).
    copies = [
        entry(f"c{i}", f"Copy {i}", f"{WIRE}\n\nFooter {i}.", T0 + i * MINUTE)
        for i in range(1, KEY_CAP + 5)
    ]
    store(repo, clock, "https://farm.example/feed", *copies)
    stage(repo, clock).run()
    # Each adds the keys of its footer at most, not the story's again: none fills up.
    assert _filed(repo) - original < 2 * len(copies)
    assert max(_rows_per_key(repo)) < KEY_CAP
    # A copy in a later run still finds the story through the original.
    late = [entry("r", "Reprint", edited(WIRE), T0 + 2 * REFILE_AFTER)]
    store(repo, clock, "https://late.example/feed", *late)
    stage(repo, clock).run()
    found = verdicts(repo)
    assert {found[f"Copy {i}"][0] for i in range(1, KEY_CAP + 5)} == {"Wire story"}
    assert found["Reprint"][0] == "Wire story"


def test_a_copy_days_after_its_original_is_filed_so_the_story_outlives_the_original(
    repo: Repository, clock: FakeClock
) -> None:
    window = timedelta(days=30)
    store(repo, clock, "https://wire.example/feed", entry("w", "Wire story", WIRE, T0))
    stage(repo, clock).run()
    later = T0 + 20 * REFILE_AFTER
    reprint = entry("s", "Reprint", f"{WIRE}\n\nFooter.", later)
    store(repo, clock, "https://site.example/feed", reprint)
    stage(repo, clock).run()
    # Past the original's window, within the reprint's: found through the reprint.
    last = T0 + window + 5 * REFILE_AFTER
    store(repo, clock, "https://late.example/feed", entry("l", "Late copy", edited(WIRE), last))
    stage(repo, clock).run()
    found = verdicts(repo)
    assert found["Reprint"][0] == "Wire story"
    assert found["Late copy"][0] == "Wire story"


def test_a_deleted_original_leaves_its_keys_to_its_copy_so_the_story_is_not_new_again(
    repo: Repository, clock: FakeClock
) -> None:
    store(repo, clock, "https://wire.example/feed", entry("w", "Wire story", WIRE, T0))
    reprint = entry("s", "Reprint", f"{WIRE}\n\nFooter.", T0 + MINUTE)
    store(repo, clock, "https://site.example/feed", reprint)
    stage(repo, clock).run()
    wire = next(a["id"] for a in repo.export_articles() if a["title"] == "Wire story")
    assert repo.delete_article(wire, text_keys)
    late = entry("l", "Late copy", edited(WIRE), T0 + 2 * REFILE_AFTER)
    store(repo, clock, "https://late.example/feed", late)
    stage(repo, clock).run()
    found = verdicts(repo)
    assert found["Late copy"][1] == "reprint"  # a copy of the story, through the reprint
    assert found["Late copy"][2] == found["Reprint"][2]


def test_explain_information_names_the_original_and_the_story(
    repo: Repository, clock: FakeClock
) -> None:
    store(repo, clock, "https://wire.example/feed", entry("w1", "Wire story", WIRE, T0))
    later = T0 + timedelta(hours=1)
    store(repo, clock, "https://site.example/feed", entry("s1", "Reprint", edited(WIRE), later))
    stage(repo, clock).run()
    rows = {r["title"]: r for r in repo.export_articles()}
    info = repo.near_of(rows["Reprint"]["id"])
    assert info is not None and info.compared
    assert (info.duplicate_of, info.original_title, info.reason) == (
        rows["Wire story"]["id"],
        "Wire story",
        "reprint",
    )
    assert info.scores["words"] >= 0.5
    assert info.story is not None and info.story.articles == 2


class FailingSaves:
    """The repository, but every save of decisions fails (a lost connection, a lock)."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def __getattr__(self, name: str) -> object:
        return getattr(self.repo, name)

    def save_near(self, *args: object) -> None:
        from monitor.core.errors import StorageError

        raise StorageError("could not save near-duplicate decisions: disk I/O error")


def test_a_failed_save_loses_nothing_the_next_run_decides_again(
    repo: Repository, clock: FakeClock
) -> None:
    store(repo, clock, "https://wire.example/feed", entry("w1", "Wire story", WIRE, T0))
    limits = near_limits(DuplicateSettings())
    failing = NearStage(FailingSaves(repo), clock, *limits)  # type: ignore[arg-type]
    assert failing.run().articles == 0
    assert len(repo.pending_near(10)) == 1
    assert stage(repo, clock).run().articles == 1
    assert repo.pending_near(10) == []


def test_recent_shingles_are_reused_only_for_the_same_text() -> None:
    from monitor.core.near import NearArticle
    from monitor.near.similarity import Thresholds
    from monitor.near.sketch import features
    from monitor.near.story import StoryLimits

    stage = NearStage(None, None, Thresholds(), StoryLimits())  # type: ignore[arg-type]
    first = NearArticle("a", "Title", "Rutte met officials in Kursk on Tuesday", "en", T0)
    stage._remember([first], [features(first.title, first.body, first.language)])
    kept = stage._recent["a"][1]
    assert stage._stored_shingles(first) is kept
    changed = NearArticle("a", "Title", "Rutte met officials in Kyiv on Tuesday", "en", T0)
    fresh = stage._stored_shingles(changed)
    assert fresh is not kept
    assert fresh.words.tolist() == features("Title", changed.body).words.tolist()


def test_stored_texts_are_read_ahead_of_the_decisions_and_featurised_once() -> None:
    from monitor.core.near import NearArticle
    from monitor.near.sketch import features
    from monitor.near.stage import READ_AHEAD, _StoredTexts

    reads: list[set[str]] = []

    def read(ids: Iterable[str]) -> list[NearArticle]:
        reads.append(set(ids))
        # "purged" has no text any more: the store leaves it out.
        return [NearArticle(i, "T", WIRE, "en", T0) for i in sorted(ids) if i != "purged"]

    wants = [{f"s{i}", f"s{i + 1}"} for i in range(0, 2 * READ_AHEAD, 2)] + [{"purged"}]
    texts = _StoredTexts(read, wants, lambda text: features(text.title, text.body))
    first = texts.shingles("s0")
    assert first is not None and texts.shingles("s0") is first  # featurised once
    assert reads == [set().union(*wants[: READ_AHEAD // 2])]  # the next articles' texts
    assert texts.shingles("never") is None and len(reads) == 1  # not wanted: nothing read
    # Wanted by an article far ahead (asked by one that found it decisive): read alone.
    assert texts.shingles("purged") is None and reads[1:] == [{"purged"}]
    assert texts.shingles(f"s{2 * READ_AHEAD - 1}") is not None
    assert reads[2:] == [set().union(*wants[READ_AHEAD // 2 : READ_AHEAD])]
    texts.done_with("s0")
    assert texts.shingles("s0") is None


def test_a_stored_text_is_let_go_after_the_last_article_that_screened_it() -> None:
    from collections import Counter

    from monitor.core.near import NearArticle
    from monitor.near.decide import Known, new_batch
    from monitor.near.sketch import Shingles, features

    limits = near_limits(DuplicateSettings())
    original = features("Wire story", WIRE)
    known = Known("o", T0, original.sketch, "o", "o")
    copies = [
        NearArticle(f"c{i}", "Wire story", f"{WIRE}\n\nReporting by desk {i}.", "en", T0)
        for i in range(2)
    ]
    found = [features(c.title, c.body) for c in copies]
    stored = {k: [known] for k in original.sketch.keys}
    batch = new_batch(stored, Counter(), [], [f.sketch for f in found], *limits)

    class Texts:
        def __init__(self) -> None:
            self.asked: list[str] = []
            self.done: list[str] = []

        def shingles(self, article_id: str) -> Shingles | None:
            self.asked.append(article_id)
            return original if article_id == "o" else None

        def done_with(self, article_id: str) -> None:
            self.done.append(article_id)

    batch.texts = texts = Texts()
    for copy, its in zip(copies, found, strict=True):
        batch.plausible(copy, its.sketch)
    assert batch.decide(copies[0], found[0]).duplicate_of == "o"
    assert texts.asked == ["o"] and texts.done == []  # the second copy screened it too
    assert batch.decide(copies[1], found[1]).duplicate_of == "o"
    assert texts.done == ["o"]


def test_the_stored_postings_are_let_go_once_every_article_is_screened() -> None:
    from collections import Counter

    from monitor.core.near import NearArticle
    from monitor.near.decide import Known, new_batch
    from monitor.near.sketch import features

    limits = near_limits(DuplicateSettings())
    original = features("Wire story", WIRE)

    def batch_with(stored_id: str) -> Batch:
        known = Known(stored_id, T0, original.sketch, stored_id, stored_id)
        stored = {k: [known] for k in original.sketch.keys}
        return new_batch(stored, Counter(), [], [original.sketch], *limits)

    copy = NearArticle("c", "Wire story", f"{WIRE}\n\nReporting by the desk.", "en", T0)
    its = features(copy.title, copy.body)
    batch = batch_with("o")
    batch.plausible(copy, its.sketch)
    batch.all_screened()
    assert batch.postings == {}
    assert batch.decide(copy, its).duplicate_of == "o"  # from what it screened
    late = NearArticle("late", "Wire story", WIRE, "en", T0)
    with pytest.raises(ValueError, match="not screened"):
        batch.decide(late, features(late.title, late.body))
    # An article stored before and decided again stands among them: they stay.
    again = batch_with("c")
    again.plausible(copy, its.sketch)
    again.all_screened()
    assert again.postings != {}
