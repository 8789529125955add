"""Matches stored with their articles, on SQLite and PostgreSQL: none lost, none twice."""

from __future__ import annotations

from datetime import timedelta

from monitor.core.clock import Clock
from monitor.match.engine import Matcher
from monitor.match.index import compile_index
from monitor.match.stage import MatchStage
from monitor.near.filing import text_keys
from monitor.store.repository import Repository
from tests.match.helpers import matcher
from tests.store.test_storage import NOW, WIRE_TEXT, add, entry, repo, save

__all__ = ["repo"]  # the fixture, shared with test_storage

WATCHLIST = """
name: nk
actors:
  nk: [North Korean, Pyongyang]
  ru: [Russia]
rules:
  troops: {all: [nk, ru]}
"""


class Fixed(Clock):
    def __init__(self) -> None:
        self.at = NOW

    def now(self):  # type: ignore[no-untyped-def]
        return self.at


def stage(repo: Repository, rules: Matcher, clock: Clock) -> MatchStage:
    return MatchStage(repo, lambda: rules, clock, batch=2)


def test_new_articles_are_matched_once_and_exported_with_their_matches(repo: Repository) -> None:
    feed = add(repo, "https://wire.example/rss")
    quiet = "Nothing about that region at all, only weather and sport. " * 3
    save(
        repo,
        feed,
        entry("a", "https://wire.example/a"),
        entry("b", "https://b.example/", body=quiet),
    )
    clock = Fixed()
    report = stage(repo, matcher(WATCHLIST), clock).run()
    assert (report.articles, report.matches) == (2, 1)
    assert report.by_rule == (("nk", "troops", 1),)
    assert repo.pending_articles(10) == []
    assert stage(repo, matcher(WATCHLIST), clock).run().articles == 0  # nothing twice

    exported = {a["url"]: a for a in repo.export_articles()}
    (found,) = exported["https://wire.example/a"]["matches"]
    assert (found["watchlist"], found["rule"]) == ("nk", "troops")
    assert {t["term"] for t in found["terms"]} == {"North Korean", "Russia"}
    hit = found["terms"][0]["hits"][0]
    assert WIRE_TEXT[hit[1] : hit[2]] in ("North", "Korean", "Russia")
    assert exported["https://b.example/"]["matches"] == []


def test_a_changed_text_is_matched_again_and_a_known_match_keeps_its_first_time(
    repo: Repository,
) -> None:
    feed = add(repo, "https://wire.example/rss")
    save(repo, feed, entry("a", "https://wire.example/a"))
    clock = Fixed()
    stage(repo, matcher(WATCHLIST), clock).run()
    clock.at = NOW + timedelta(hours=1)
    changed = WIRE_TEXT + " Pyongyang denied it."
    save(repo, feed, entry("a", "https://wire.example/a", body=changed), at=clock.at)
    assert [a.body for a in repo.pending_articles(10)] == [changed]
    assert stage(repo, matcher(WATCHLIST), clock).run().matches == 0  # same rule: no new row
    (article,) = repo.export_articles()
    assert article["matches"][0]["matched_at"] == NOW.isoformat()


def test_with_no_watchlist_pending_articles_are_simply_marked(repo: Repository) -> None:
    feed = add(repo, "https://wire.example/rss")
    save(repo, feed, entry("a", "https://wire.example/a"))
    save(repo, feed, entry("c", "https://wire.example/c", body=WIRE_TEXT + " More."))
    assert stage(repo, Matcher(compile_index([])), Fixed()).run().articles == 2
    assert repo.pending_articles(10) == []


def test_deleting_an_article_deletes_its_matches(repo: Repository) -> None:
    feed = add(repo, "https://wire.example/rss")
    save(repo, feed, entry("a", "https://wire.example/a"))
    stage(repo, matcher(WATCHLIST), Fixed()).run()
    (article,) = repo.export_articles()
    assert repo.delete_article(article["id"], text_keys)
    assert repo.matches_of([article["id"]]) == {}


SENT = """
name: nk
actors:
  nk: [North Korean, Pyongyang]
concepts:
  deployment:
    description: Soldiers sent abroad.
    terms: [troop deployment]
rules:
  sent: {all: [nk, deployment]}
"""


class FailingJudge:
    def read_many(self, articles: object) -> list[object]:
        raise RuntimeError("the model's session died")


def meaning_matcher(judge: object) -> Matcher:
    from monitor.match.meaning import concept_texts
    from monitor.watchlist.load import parse_watchlist

    watchlist = parse_watchlist(SENT.encode(), "nk.yaml", "nk")
    return Matcher(compile_index([watchlist]), judge, concept_texts([watchlist]))  # type: ignore[arg-type]


def test_articles_matched_while_meaning_failed_are_marked_and_matched_by_it_later(
    repo: Repository,
) -> None:
    from tests.match.test_meaning_rules import Scripted, ScriptedJudge

    feed = add(repo, "https://wire.example/rss")
    save(repo, feed, entry("a", "https://wire.example/a"))
    clock = Fixed()
    first = stage(repo, meaning_matcher(FailingJudge()), clock).run()
    assert first.articles == 1 and first.matches == 0  # nothing by terms; nothing lost either
    (marked,) = repo.export_articles()
    assert "RuntimeError" in marked["meaning_missed"]
    assert repo.pending_articles(10) == []  # matched, by terms: not pending as new

    # The model is back: the stage reads the marked article by meaning.
    phrase = WIRE_TEXT.split(".")[0]
    judge = ScriptedJudge(Scripted({"deployment": phrase}))
    clock.at = NOW + timedelta(minutes=10)
    second = stage(repo, meaning_matcher(judge), clock).run()
    assert (second.articles, second.matches) == (1, 1)  # read again, one match added
    (again,) = repo.export_articles()
    assert again["meaning_missed"] is None
    assert [m["rule"] for m in again["matches"]] == ["sent"]
    assert stage(repo, meaning_matcher(judge), clock).run().matches == 0  # once only


def test_while_meaning_still_fails_the_marked_articles_wait(repo: Repository) -> None:
    feed = add(repo, "https://wire.example/rss")
    save(repo, feed, entry("a", "https://wire.example/a"))
    clock = Fixed()
    stage(repo, meaning_matcher(FailingJudge()), clock).run()
    report = stage(repo, meaning_matcher(FailingJudge()), clock).run()
    assert (report.articles, report.matches) == (0, 0)
    assert repo.missed_meaning(10)[0].article_id == next(iter(repo.export_articles()))["id"]
