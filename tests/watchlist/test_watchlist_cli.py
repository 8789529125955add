"""Watchlists as a user meets them: the sample corpus, check, test, explain, hot reload."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from tests.cli.test_commands import monitor
from tests.conftest import sample_copy
from tests.feedserver import rss
from tests.processes import start_monitor, stop

ROOT = Path(__file__).resolve().parents[2]
# The sample event's articles (corpus/README.md): the wire story, its reprint, the
# spun copy, the allies' statement and the think tank's reading of Rutte's column.
EVENT = {
    "NATO chief confirms North Korean troops deployed to Russia's Kursk region",
    "NATO allies condemn North Korean troop deployment as dangerous expansion of war",
    "North Korean units are now in Kursk, NATO's Rutte says",
    "NATO boss confirms North Korean troopers deployed to Russia's Kursk area",
    "Russia's borrowed war machine: reading Rutte's warning about Moscow's partners",
}


def corpus_run(tmp_path: Path) -> tuple[dict[str, dict[str, object]], dict[str, str]]:
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'corpus.db'}"}
    monitor("run", "--once", cwd=sample_copy(tmp_path), env=env)  # its digests there
    out = tmp_path / "export.jsonl"
    monitor("articles", "export", "-o", str(out), cwd=ROOT, env=env)
    articles = [json.loads(line) for line in out.read_text().splitlines()]
    return {a["title"]: a for a in articles}, env


def test_the_example_watchlist_catches_the_sample_event_and_nothing_else(tmp_path: Path) -> None:
    articles, env = corpus_run(tmp_path)
    assert len(articles) == 18
    caught = {
        title
        for title, a in articles.items()
        if any(m["watchlist"] == "north-korea-russia" for m in a["matches"])  # type: ignore[attr-defined]
    }
    assert caught == EVENT
    spun = articles["NATO boss confirms North Korean troopers deployed to Russia's Kursk area"]
    rules = {m["rule"] for m in spun["matches"]}  # type: ignore[attr-defined]
    assert {"troops_for_russia", "arms_for_russia"} <= rules

    bank = articles["Bank of Korea cuts interest rates for first time since 2020"]
    explained = monitor("explain", str(bank["id"]), cwd=ROOT, env=env).stdout
    assert "no match north-korea-russia / troops_for_russia" in explained
    assert "because 'north_korea' (all) does not occur" in explained

    wire = articles[next(iter(sorted(EVENT)))]
    explained = monitor("explain", str(wire["id"]), cwd=ROOT, env=env).stdout
    assert "matches north-korea-russia / arms_for_russia" in explained
    assert "stored matches" in explained


def test_watchlist_test_replays_the_corpus_without_storing_anything(tmp_path: Path) -> None:
    _, env = corpus_run(tmp_path)
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        "name: draft\nactors:\n  rutte: [Mark Rutte, Rutte]\nrules:\n  rutte: {all: [rutte]}\n"
    )
    result = monitor("watchlist", "test", str(draft), "--since", "3000w", cwd=ROOT, env=env)
    assert "draft: 18 articles replayed" in result.stdout
    assert "│ rutte │        5 │" in result.stdout
    with sqlite3.connect(tmp_path / "corpus.db") as db:
        assert db.execute("SELECT count(*) FROM matches WHERE watchlist = 'draft'").fetchone() == (
            0,
        )


def test_check_names_the_file_line_and_column_of_a_watchlist_error(tmp_path: Path) -> None:
    (tmp_path / "monitor.yaml").write_text("feeds: []\n")
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "good.yaml").write_text(
        "actors:\n  a: [x]\nrules:\n  r: {all: [a]}\n"
    )
    (tmp_path / "watchlists" / "bad.yaml").write_text(
        "actors:\n  nk: [North Korea]\nrules:\n  r:\n    all: [nk, russia]\n"
    )
    result = monitor("check", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "good.yaml: watchlist good" in result.stdout
    assert "bad.yaml:5:15: unknown actor or concept 'russia'" in result.stderr


def test_the_schema_is_published_as_json(tmp_path: Path) -> None:
    schema = json.loads(monitor("watchlist", "schema", cwd=tmp_path).stdout)
    assert schema["title"] == "monitor watchlist"
    assert "rules" in schema["required"]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def matched(db_path: Path) -> set[tuple[str, str]]:
    if not db_path.exists():
        return set()
    try:
        with sqlite3.connect(db_path) as db:
            rows = db.execute(
                "SELECT a.guid, m.rule FROM matches m JOIN articles a ON a.id = m.article_id"
            )
            return set(rows.fetchall())
    except sqlite3.OperationalError:  # not created yet
        return set()


def user_dir(
    tmp: Path, watchlist: str, *items: dict[str, str], settings: str = "", name: str = "w"
) -> None:
    """A directory as a user sets it up: ``watchlists/NAME.yaml``, a feed file of
    ``items``, and a monitor.yaml of ``settings`` (one run, by default) and that feed."""
    (tmp / "corpus").mkdir()
    (tmp / "watchlists").mkdir()
    (tmp / "watchlists" / f"{name}.yaml").write_text(watchlist, encoding="utf-8")
    (tmp / "corpus" / "feed.rss").write_bytes(rss(*items))
    settings = settings or "polling: {parse_workers: 0}\n"
    (tmp / "monitor.yaml").write_text(settings + "feeds:\n  - url: corpus/feed.rss\n")


def exported_one(cwd: Path) -> dict[str, Any]:
    """The one article stored in ``cwd``, as ``monitor articles export`` writes it."""
    out = cwd / "export.jsonl"
    monitor("articles", "export", "-o", str(out), cwd=cwd)
    (stored,) = [json.loads(line) for line in out.read_text().splitlines()]
    return cast(dict[str, Any], stored)


STORY = "Officials described the situation in detail to reporters on Monday. " * 3
V1 = "actors:\n  ru: [Russia]\nrules:\n  russia: {all: [ru]}\n"
V2 = V1 + "  kursk: {all: [ru, kursk]}\nconcepts:\n  kursk: [Kursk]\n"
RUSSIA_ACTS = {"guid": "one", "title": "Russia acts", "description": "Russia said. " + STORY}


def test_the_daemon_reloads_an_edited_watchlist_and_survives_a_broken_one(tmp_path: Path) -> None:
    items = [RUSSIA_ACTS]
    settings = (
        "polling: {interval: 1s, min_interval: 1s, check_every: 1s, parse_workers: 0}\n"
        "watchlists: {reload_every: 0.5s}\n"
        "log: {format: json}\n"
    )
    user_dir(tmp_path, V1, *items, settings=settings)
    feed_file, watchlist = tmp_path / "corpus" / "feed.rss", tmp_path / "watchlists" / "w.yaml"
    log = tmp_path / "daemon.log"
    with log.open("w") as err:
        daemon = start_monitor(tmp_path, "run", stderr=err)
    db = tmp_path / "corpus" / "monitor.db"
    try:
        wait_for(lambda: ("one", "russia") in matched(db), "the first match")
        watchlist.write_text(V2[: len(V2) - 30])  # an editor half way through saving
        wait_for(lambda: "watchlist.invalid" in log.read_text(), "the error to be reported")
        watchlist.write_text(V2)
        wait_for(lambda: "watchlist.recovered" in log.read_text(), "the file to recover")
        items.append({"guid": "two", "title": "Kursk", "description": "Russia in Kursk. " + STORY})
        feed_file.write_bytes(rss(*items))
        wait_for(lambda: {("two", "russia"), ("two", "kursk")} <= matched(db), "new matches")
    finally:
        stopped = stop(daemon, timeout=20)
    assert stopped.returncode == 0, log.read_text()
    assert ("one", "kursk") not in matched(db)  # a reload does not re-match old articles
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    invalid = next(e for e in events if e["event"] == "watchlist.invalid")
    assert invalid["outcome"] == "the last good version keeps running"
    assert "w.yaml" in invalid["error"]
    recovered = next(e for e in events if e["event"] == "watchlist.recovered")
    assert recovered["file"] == str(watchlist)
    loaded = [e for e in events if e["event"] == "watchlists.loaded"]
    assert loaded and all(e["level"] == "info" for e in loaded)


def test_explain_counts_names_as_a_reader_does_and_shows_what_an_exclusion_vetoed(
    tmp_path: Path,
) -> None:
    example = ROOT / "watchlists" / "north-korea-russia.yaml"
    body = (
        "North Korea has sent troops to Russia, officials said. North Korea denied it. "
        "South Korea objected. " + STORY
    )
    item = {"guid": "one", "title": "North Korea sends troops", "description": body}
    user_dir(tmp_path, example.read_text(encoding="utf-8"), item, name=example.stem)
    monitor("run", "--once", cwd=tmp_path)
    stored = exported_one(tmp_path)

    explained = monitor("explain", str(stored["id"]), cwd=tmp_path).stdout
    assert "matches north-korea-russia / troops_for_russia" in explained
    assert "north_korea: North Korea ×3  (title 0-11, body 0-11, body 55-66)" in explained
    assert "Korea ×" not in explained.replace("North Korea ×", "")
    assert (
        "north_korea: Korea at body 84-89 vetoed by the exclusion South Korea (body 78-89)"
        in explained
    )

    draft = tmp_path / "watchlists" / example.name
    replay = monitor("watchlist", "test", str(draft), "--since", "3000w", cwd=tmp_path).stdout
    assert "north-korea-russia: 1 article replayed" in replay


def test_only_check_and_the_daemon_announce_the_watchlists_loaded(tmp_path: Path) -> None:
    user_dir(tmp_path, V1, RUSSIA_ACTS)
    once = monitor("run", "--once", cwd=tmp_path)
    assert "watchlists.loaded" not in once.stderr
    stored = exported_one(tmp_path)
    explained = monitor("explain", str(stored["id"]), cwd=tmp_path)
    assert "matches w / russia" in explained.stdout
    assert "watchlists.loaded" not in explained.stderr
    assert "watchlists.loaded" in monitor("check", cwd=tmp_path).stderr


def meaning_user(tmp: Path) -> None:
    """A directory with two watchlists, one of them using examples (meaning)."""
    (tmp / "monitor.yaml").write_text("feeds: []\n")
    (tmp / "watchlists").mkdir()
    (tmp / "watchlists" / "plain.yaml").write_text("concepts:\n  c: [x]\nrules:\n  r: {all: [c]}\n")
    (tmp / "watchlists" / "meant.yaml").write_text(
        "concepts:\n  c:\n    terms: [job cuts]\n    examples: [The bank will shed 500 staff.]\n"
        "rules:\n  r: {all: [c]}\n"
    )


def without_the_extra(tmp: Path) -> dict[str, str]:
    """An environment in which onnxruntime cannot be imported, as without the extra."""
    blocker = tmp / "blocked" / "onnxruntime"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'onnxruntime'\", name='onnxruntime')\n"
    )
    return {"PYTHONPATH": os.pathsep.join([str(tmp / "blocked"), *sys.path])}


def test_check_says_meaning_matching_is_off_without_the_extra(tmp_path: Path) -> None:
    meaning_user(tmp_path)
    out = monitor("check", cwd=tmp_path, env=without_the_extra(tmp_path)).stdout
    assert "meant.yaml: watchlist meant" in out
    assert "meaning-matching is off: onnxruntime is not installed" in out
    assert "monitor[semantic]" in out
    assert "meant.yaml: its examples, negatives and meaning settings are validated" in out
    assert "plain.yaml: its examples" not in out


def test_check_names_a_model_that_cannot_be_had_and_the_terms_go_on(tmp_path: Path) -> None:
    meaning_user(tmp_path)
    env = {"MONITOR_MEANING_MODEL": "acme/no-such-model", "HF_HUB_OFFLINE": "1"}
    out = monitor("check", cwd=tmp_path, env=env | {"HF_HOME": str(tmp_path / "hf")}).stdout
    assert "meaning-matching is off: model acme/no-such-model" in out
    assert "local directory" in out  # what to do instead


def test_check_loads_the_model_as_the_daemon_would(tmp_path: Path, model_dir: Path) -> None:
    meaning_user(tmp_path)
    out = monitor("check", cwd=tmp_path, env={"MONITOR_MEANING_MODEL": str(model_dir)}).stdout
    assert f"ok meaning: model {model_dir}, 2 concepts" in " ".join(out.split())
    assert "meaning-matching is off" not in out
