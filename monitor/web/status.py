"""The status page: feeds, recent stories, recent deliveries, rendered on the server.

Read-only: the page runs queries and a template, nothing else. Feed text is
autoescaped like every HTML template of monitor.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from monitor import __version__
from monitor.clock import when
from monitor.store.repository import Repository

TEMPLATES = Path(__file__).parent / "templates"
RECENT = timedelta(days=3)

_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)
_env.filters["when"] = when


def page(repo: Repository, now: datetime, worker: str) -> str:
    return _env.get_template("status.html.j2").render(view(repo, now, worker))


def view(repo: Repository, now: datetime, worker: str) -> dict[str, Any]:
    feeds = repo.feeds()
    stories = repo.stories(now - RECENT, 50)
    matched = repo.matches_of([m[0] for s in stories for m in s.members])
    # The stories people care about: told by several outlets, or caught by a watchlist.
    shown = [s for s in stories if s.articles > 1 or any(m[0] in matched for m in s.members)]
    return {
        "version": __version__,
        "worker": worker,
        "now": now,
        "feeds": sorted(feeds, key=lambda f: (f.error_count == 0, f.title or f.url)),
        "failing": sum(1 for f in feeds if f.error_count),
        "stories": [_story(s, matched) for s in shown[:15]],
        "deliveries": repo.deliveries(limit=20),
        "routes": repo.route_states(),
    }


def _story(story: Any, matched: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    rules = sorted(
        {(m["watchlist"], m["rule"]) for a, *_ in story.members for m in matched.get(a, [])}
    )
    return {
        "id": story.id,
        "title": story.title,
        "articles": story.articles,
        "updated": story.updated,
        "sources": sorted({feed for _, _, feed, _ in story.members}),
        "rules": [f"{w}/{r}" for w, r in rules],
    }
