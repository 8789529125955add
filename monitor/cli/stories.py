"""``monitor stories list``: the stories of the corpus, each with the sources that told it."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from monitor.cli.articles import parse_since
from monitor.cli.params import LIMIT
from monitor.cli.state import State
from monitor.cli.term import add_row, cell, count, markup, out
from monitor.store.near import NearInfo, StoryInfo

console = out


@click.group()
def stories() -> None:
    """Stories: articles about one event, copies included."""


@stories.command("list")
@click.option("--since", default="7d", show_default=True, help="Stories updated since: 7d, 12h…")
@click.option(
    "--limit", type=LIMIT, default=20, show_default=True, help="Stories shown, the largest first."
)
@click.option("--all", "show_all", is_flag=True, help="Also stories of a single article.")
@click.pass_obj
def list_stories(state: State, since: str, limit: int, show_all: bool) -> None:
    """Stories with their articles: which outlet, and which are copies of which."""
    start = parse_since(since, state.clock.now())
    repo = state.repo()
    try:
        found = [s for s in repo.stories(start, limit) if show_all or s.articles > 1]
    finally:
        repo.close()
    if not found:
        console.print(markup("no stories of several articles since {:%Y-%m-%d %H:%M} UTC", start))
        return
    for story in found:
        console.print(
            markup(
                "[b]#{} {}[/] [dim]· {} · latest {:%Y-%m-%d %H:%M} UTC[/]",
                story.id,
                story.title,
                count(story.articles, "article"),
                story.updated,
            )
        )
        console.print(sources(story))


def sources(story: StoryInfo) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 3))
    for article_id, title, feed, copy_of in story.members:
        if copy_of == article_id:
            kind = "exact copy (a link)"
        else:
            kind = f"copy of {copy_of}" if copy_of else "own report"
        add_row(table, feed, title, cell(f"{article_id} · {kind}", "dim"))
    return table


# What each score of a copy decision measures (monitor.near.similarity), in words.
SCORES = {
    "words": "word sequences in common (shingles shared over all)",
    "masked": "the same, with names and numbers masked",
    "containment": "share of the shorter text found in the longer",
    "names": "share of the shorter text's names and numbers found in the other",
    "length": "the shorter text's length over the longer's",
}


def describe(info: NearInfo) -> list[str | Table]:
    """``monitor explain``'s lines on copies and stories (rich markup, values made inert)."""
    if not info.compared:
        return ["not yet compared with the corpus for copies (the next cycle does it)"]
    lines: list[str | Table] = []
    if info.duplicate_of:
        lines.append(
            markup(
                "[b]copy[/] ({}) of {} [i]{}[/]",
                info.reason,
                info.duplicate_of,
                info.original_title or "",
            )
        )
        lines.extend(_scores(info.scores))
    else:
        lines.append("[b]original[/]: no stored article is a copy source of it")
    if info.story:
        story = info.story
        shared = info.scores.get("story_names")
        why = f", joined for the names {', '.join(shared)}" if shared else ""
        lines.append(
            markup(
                "[b]story[/] #{} [i]{}[/] ({}{})",
                story.id,
                story.title,
                count(story.articles, "article"),
                why,
            )
        )
        lines.append(sources(story))
    return lines


def _scores(scores: dict[str, Any]) -> list[str]:
    """One line per score, saying what it measures, under how the scores were taken."""
    lines = [
        markup("      {} {}: {}", name, value, SCORES.get(name, ""))
        for name, value in scores.items()
        if name not in ("exact", "story_names")
    ]
    if "exact" not in scores:
        return lines
    how = (
        "measured on both texts"
        if scores["exact"]
        else "estimated from stored sketches (the other text's body was purged)"
    )
    return [markup("    [dim]scores, {}:[/]", how), *lines]
