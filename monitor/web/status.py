"""The status page: feeds, watchlists, recent stories, recent deliveries, rendered on the server.

Read-only: the page runs queries and a template, nothing else. Feed text is
autoescaped like every HTML template of monitor; URLs and errors are shown with
their passwords and token parameters masked (the page may be read by more
people than the configuration).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.alert.render import environment
from monitor.core.clock import when
from monitor.core.printable import error_line
from monitor.core.redact import redact_url
from monitor.meaning.source import MeaningState
from monitor.watchlist.registry import Registry
from monitor.web.reads import StatusReads, StoryRead

TEMPLATES = Path(__file__).parent / "templates"
RECENT = timedelta(days=3)

_env = environment(
    [TEMPLATES],
    autoescape=True,
    filters={
        "when": when,
        "redact_url": redact_url,
        # Errors (a delivery's too, with its receiver's reason phrase): no secrets, no controls.
        "redact": lambda text: error_line(text),
    },
)


@dataclass(frozen=True, slots=True)
class WatchlistFile:
    """A watchlist file as this worker holds it: in force, refused, or both (an edit
    was refused and the last good version keeps running)."""

    file: str
    name: str | None = None  # None: not in force
    rules: int = 0
    error: str | None = None


def watchlist_files(registry: Registry) -> list[WatchlistFile]:
    """The registry's files, refused ones first."""
    # Copied first, each in one step: a reload may change them on another thread.
    good, errors = dict(registry.good), dict(registry.errors)
    files = {
        path: WatchlistFile(path.name, watchlist.name, len(watchlist.rules))
        for path, watchlist in good.items()
    }
    for path, error in errors.items():
        kept = files.get(path, WatchlistFile(path.name))
        files[path] = WatchlistFile(kept.file, kept.name, kept.rules, error)
    return sorted(files.values(), key=lambda f: (f.error is None, f.file))


def meaning_state(registry: Registry) -> MeaningState | None:
    """Whether the watchlists match by meaning here, or why not (None: not asked)."""
    return None if registry.meaning is None else registry.meaning.state


def page(
    repo: StatusReads,
    now: datetime,
    worker: str,
    watchlists: Sequence[WatchlistFile] = (),
    nonce: str = "",
    meaning: MeaningState | None = None,
) -> str:
    """The page; ``nonce`` marks its style for the response's Content-Security-Policy."""
    return _env.get_template("status.html.j2").render(
        view(repo, now, worker, watchlists), nonce=nonce, meaning=meaning
    )


def view(
    repo: StatusReads, now: datetime, worker: str, watchlists: Sequence[WatchlistFile] = ()
) -> dict[str, Any]:
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
        "watchlists": watchlists,
        "refused": sum(1 for w in watchlists if w.error),
        "stories": [_story(s, matched) for s in shown[:15]],
        "deliveries": repo.deliveries(limit=20),
        "routes": repo.route_states(),
    }


def _story(story: StoryRead, matched: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    rules = sorted(
        {(m["watchlist"], m["rule"]) for a, *_ in story.members for m in matched.get(a, [])}
    )
    return {
        "id": story.id,
        "title": story.title,
        "articles": story.articles,
        "updated": story.updated,
        # A feed without a title is shown by its URL.
        "sources": sorted({redact_url(feed) for _, _, feed, _ in story.members}),
        "rules": [f"{w}/{r}" for w, r in rules],
    }
