"""A user's set-up for matching by meaning: a watchlist written in a few minutes, a
feed of short news items (some reporting its concepts in other words), a file route."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from tests.feedserver import rss

WATCHLIST = """\
name: desk
actors:
  north_korea: [North Korea, North Korean, Pyongyang]
concepts:
  troop_deployment:
    description: a country sends its soldiers to fight abroad
    terms: [troop deployment, sent troops]
  layoffs:
    description: a company cuts jobs and lays off its workers
    terms: [job cuts, layoffs]
rules:
  troops: {all: [north_korea, troop_deployment]}
  layoffs: {all: [layoffs]}
"""

# The troop deployment reported without "troops", "deployment" or "sent".
TROOPS_SENTENCE = (
    "Pyongyang has dispatched several thousand soldiers to the front line in western "
    "Russia, officials in Seoul said on Tuesday."
)
# Layoffs reported without "job cuts" or "layoffs".
STAFF_SENTENCE = "The retailer will make 1,200 workers redundant when it shuts forty stores."
LITERAL_SENTENCE = "Acme announced job cuts of 300 at its plant in Leeds on Monday."
DENIAL_SENTENCE = "The carmaker denied reports that it would announce job cuts at its plant."
GRANTS_SENTENCE = "The minister announced tax cuts and new jobs grants for small firms."
LIBRARY_SENTENCE = "The town council approved the library budget after a short debate."

ITEMS = {
    "troops": ("Pyongyang reinforces Russian front", TROOPS_SENTENCE),
    "staff": ("Retailer shrinks", STAFF_SENTENCE),
    "literal": ("Acme plant hit", LITERAL_SENTENCE),
    "denial": ("Carmaker rejects rumours", DENIAL_SENTENCE),
    "grants": ("Budget for small firms", GRANTS_SENTENCE),
    "library": ("Library budget approved", LIBRARY_SENTENCE),
}
CLOSING = " The details were published in a statement on the ministry's website."


def desk(tmp: Path, *guids: str) -> Path:
    """The user's directory under ``tmp`` with the items ``guids`` (all by default):
    watchlists/desk.yaml, corpus/feed.rss, monitor.yaml with a file route to digests/."""
    chosen = guids or tuple(ITEMS)
    (tmp / "corpus").mkdir(exist_ok=True)
    (tmp / "watchlists").mkdir(exist_ok=True)
    (tmp / "watchlists" / "desk.yaml").write_text(WATCHLIST, encoding="utf-8")
    items = [
        {"guid": g, "title": ITEMS[g][0], "description": ITEMS[g][1] + CLOSING} for g in chosen
    ]
    (tmp / "corpus" / "feed.rss").write_bytes(rss(*items))
    (tmp / "monitor.yaml").write_text(
        "polling: {parse_workers: 0}\n"
        "feeds:\n  - url: corpus/feed.rss\n"
        f"routes:\n  - {{name: desk, file: {{dir: '{tmp / 'digests'}'}}, schedule: instant}}\n"
    )
    return tmp / "watchlists" / "desk.yaml"


def with_model(model_dir: Path) -> dict[str, str]:
    return {"MONITOR_MEANING_MODEL": str(model_dir)}


def database(tmp: Path) -> Path:
    return tmp / "corpus" / "monitor.db"  # beside the feed file it was made for


def article_id(tmp: Path, guid: str) -> str:
    with sqlite3.connect(database(tmp)) as db:
        (found,) = db.execute("SELECT id FROM articles WHERE guid = ?", (guid,)).fetchone()
    return str(found)


def stored(tmp: Path) -> set[tuple[str, str, float, str, str, str]]:
    """Every stored match row: guid, rule, score, terms, snippet, highlights."""
    with sqlite3.connect(database(tmp)) as db:
        rows = db.execute(
            "SELECT a.guid, m.rule, m.score, m.terms, m.snippet, m.highlights "
            "FROM matches m JOIN articles a ON a.id = m.article_id"
        )
        return set(rows.fetchall())


def without_the_extra(tmp: Path) -> dict[str, str]:
    """An environment in which onnxruntime cannot be imported, as without the extra."""
    blocker = tmp / "blocked" / "onnxruntime"
    blocker.mkdir(parents=True, exist_ok=True)
    (blocker / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'onnxruntime'\", name='onnxruntime')\n"
    )
    return {"PYTHONPATH": os.pathsep.join([str(tmp / "blocked"), *sys.path])}
