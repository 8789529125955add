"""The daemon and ``run --once`` with matching by meaning: a paraphrase stored and shown in
the digest, exactly today's matches without the extra, a broken model that loses
nothing, and the status page saying whether concepts match by meaning."""

from __future__ import annotations

import html
import json
import re
import shutil
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from monitor.match.engine import Matcher
from monitor.match.index import compile_index
from monitor.store.repository import Repository
from monitor.watchlist.load import load_watchlist
from tests.cli.helpers import monitor
from tests.cli.meaning_desk import (
    ITEMS,
    TROOPS_SENTENCE,
    database,
    desk,
    stored,
    with_model,
    without_the_extra,
)
from tests.processes import start_monitor, stop

Row = tuple[str, str, float, str, str, str]


def meaning_terms(row: Row) -> list[dict[str, object]]:
    return [t for t in json.loads(row[3]) if str(t["term"]).startswith("≈ meaning")]


def missed(tmp: Path) -> dict[str, str | None]:
    """articles.meaning_missed by guid."""
    with sqlite3.connect(database(tmp)) as db:
        return dict(db.execute("SELECT guid, meaning_missed FROM articles").fetchall())


def lexical(tmp: Path) -> set[Row]:
    """The lexical engine's own result on the stored articles, as the store keeps it."""
    repo = Repository.open(f"sqlite:///{database(tmp)}")
    try:
        articles = list(repo.articles_since(None))
    finally:
        repo.close()
    with sqlite3.connect(database(tmp)) as db:
        guids = dict(db.execute("SELECT id, guid FROM articles").fetchall())
    matcher = Matcher(compile_index([load_watchlist(tmp / "watchlists" / "desk.yaml")]))
    return {
        (
            guids[article.article_id],
            match.rule,
            match.score,
            json.dumps(
                [
                    {"ref": t.ref, "term": t.term, "hits": [list(h) for h in t.hits]}
                    for t in match.terms
                ]
            ),
            match.snippet,
            json.dumps([list(span) for span in match.highlights]),
        )
        for article in articles
        for match in matcher.match(article)
    }


def complaints(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.search(r"\[(error|warning|critical)", line)]


def test_run_once_stores_a_paraphrase_by_meaning_and_the_digest_highlights_it(
    tmp_path: Path, model_dir: Path
) -> None:
    desk(tmp_path, "troops", "library")
    run = monitor("run", "--once", cwd=tmp_path, env=with_model(model_dir))
    assert complaints(run.stderr) == []
    (row,) = stored(tmp_path)
    assert (row[0], row[1]) == ("troops", "troops")
    (by_meaning,) = meaning_terms(row)
    assert by_meaning["ref"] == "troop_deployment"
    assert re.fullmatch(r"≈ meaning \d\.\d\d \(threshold \d\.\d\d\)", str(by_meaning["term"]))
    assert by_meaning["hits"] == [["body", 0, len(TROOPS_SENTENCE)]]

    (digest,) = (tmp_path / "digests").glob("desk-alert-*.json")
    (entry,) = [e for g in json.loads(digest.read_text())["groups"] for e in g["entries"]]
    assert entry["title"] == ITEMS["troops"][0]
    assert by_meaning["term"] in entry["terms"]
    assert TROOPS_SENTENCE in entry["matched"]
    page = digest.with_suffix(".html").read_text()
    assert f"<mark>{html.escape(TROOPS_SENTENCE)}</mark>" in page


def test_without_the_extra_run_once_stores_exactly_the_lexical_matches(
    tmp_path: Path,
) -> None:
    blocked, off = tmp_path / "no-extra", tmp_path / "off"
    for where, env in (
        (blocked, without_the_extra(tmp_path)),
        (off, {"MONITOR_MEANING_ENABLED": "false"}),
    ):
        where.mkdir()
        desk(where)
        run = monitor("run", "--once", cwd=where, env=env)
        assert complaints(run.stderr) == [], run.stderr
        assert "meaning." not in run.stderr  # no event about it at all, as before the feature
        assert set(missed(where).values()) == {None}  # nothing waits for a model
    rows = stored(blocked)
    assert {(guid, rule) for guid, rule, *_ in rows} == {
        ("literal", "layoffs"),
        ("denial", "layoffs"),
        ("grants", "layoffs"),
    }
    assert rows == stored(off) == lexical(blocked)
    assert not any(meaning_terms(row) for row in rows)


def broken_copy(model_dir: Path, where: Path) -> Path:
    """The model with its ONNX file cut to a third, as an interrupted copy leaves it."""
    shutil.copytree(model_dir, where)
    (onnx,) = where.glob("*.onnx")
    data = onnx.read_bytes()
    onnx.write_bytes(data[: len(data) // 3])
    return where


def test_a_broken_model_keeps_the_lexical_matches_and_marks_articles_until_it_is_back(
    tmp_path: Path, model_dir: Path
) -> None:
    user = tmp_path / "user"
    user.mkdir()
    desk(user)
    broken = broken_copy(model_dir, tmp_path / "broken-model")
    first = monitor("run", "--once", cwd=user, env={"MONITOR_MEANING_MODEL": str(broken)})
    failed = [line for line in complaints(first.stderr) if "meaning.model_failed" in line]
    assert failed and str(broken) in failed[0]
    lexical_rows = stored(user)
    assert lexical_rows == lexical(user)  # the terms went on
    marks = missed(user)
    assert set(marks) == set(ITEMS)
    assert all(mark and str(broken) in mark for mark in marks.values())

    second = monitor("run", "--once", cwd=user, env=with_model(model_dir))
    assert complaints(second.stderr) == []
    # The summary counts the articles read again and only the matches that are new.
    summary = " ".join(second.stdout.split())
    assert "Watchlists: 6 articles checked, 2 matches" in summary
    assert "│ desk │ layoffs │ 1 │" in summary and "│ desk │ troops │ 1 │" in summary
    assert set(missed(user).values()) == {None}
    rows = stored(user)
    assert lexical_rows < rows  # what was stored stays as it was
    added = {(guid, rule) for guid, rule, *_ in rows - lexical_rows}
    assert added == {("troops", "troops"), ("staff", "layoffs")}
    assert all(meaning_terms(row) for row in rows - lexical_rows)
    # And the late match is delivered like any other.
    titles = {
        e["title"]
        for digest in (user / "digests").glob("desk-alert-*.json")
        for g in json.loads(digest.read_text())["groups"]
        for e in g["entries"]
    }
    assert {ITEMS["troops"][0], ITEMS["staff"][0]} <= titles


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def status_page(tmp: Path, env: dict[str, str]) -> str:
    """The daemon's status page (its text, unescaped), once it answers."""
    port = free_port()
    env = env | {"MONITOR_HTTP_ENABLED": "true", "MONITOR_HTTP_PORT": str(port)}
    daemon = start_monitor(tmp, "run", env=env)
    try:
        text = wait_for(lambda: _page(f"http://127.0.0.1:{port}/"), "the status page")
    finally:
        assert stop(daemon).returncode == 0
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def _page(url: str) -> str | None:
    try:
        response = httpx.get(url)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


def wait_for(get: Callable[[], str | None], what: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while (got := get()) is None:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return got


@pytest.mark.parametrize("model", ["good", "broken", "no extra"])
def test_the_status_page_says_whether_concepts_match_by_meaning(
    tmp_path: Path, model_dir: Path, model: str
) -> None:
    user = tmp_path / "user"
    user.mkdir()
    desk(user, "library")
    if model == "good":
        env = with_model(model_dir)
    elif model == "broken":
        env = {"MONITOR_MEANING_MODEL": str(broken_copy(model_dir, tmp_path / "broken"))}
    else:
        env = without_the_extra(tmp_path)
    page = status_page(user, env)
    if model == "good":
        assert f"Concepts match by meaning too (model {model_dir})" in page
        assert "Meaning-matching is off" not in page
    elif model == "broken":
        assert f"Meaning-matching is off: model {tmp_path / 'broken'}" in page
        assert "cannot be loaded" in page
        assert "Concepts match by their listed terms only" in page
    else:
        assert "Meaning-matching is off: onnxruntime is not installed" in page
        assert "pip install 'monitor[semantic]'" in page
    assert "desk" in page  # the page itself, with the watchlist in force
