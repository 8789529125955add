"""``monitor stories list``: the stories of the corpus, each with the sources that told it."""

from __future__ import annotations

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from monitor.cli.articles import parse_since
from monitor.cli.state import State
from monitor.store.near import NearInfo, StoryInfo

console = Console(soft_wrap=True)


@click.group()
def stories() -> None:
    """Stories: articles about one event, copies included."""


@stories.command("list")
@click.option("--since", default="7d", show_default=True, help="Stories updated since: 7d, 12h…")
@click.option("--limit", default=20, show_default=True, help="Stories shown, the largest first.")
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
        console.print(f"no stories of several articles since {start:%Y-%m-%d %H:%M} UTC")
        return
    for story in found:
        console.print(
            f"[b]#{story.id} {escape(story.title)}[/] [dim]· {story.articles} articles · "
            f"latest {story.updated:%Y-%m-%d %H:%M} UTC[/]"
        )
        console.print(sources(story))


def sources(story: StoryInfo) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 3))
    for article_id, title, feed, copy_of in story.members:
        if copy_of == article_id:
            kind = "exact copy (a link)"
        else:
            kind = f"copy of {copy_of}" if copy_of else "own report"
        table.add_row(escape(feed), escape(title), f"[dim]{article_id} · {kind}[/]")
    return table


def describe(info: NearInfo) -> list[str | Table]:
    """``monitor explain``'s lines on copies and stories (rich markup)."""
    if not info.compared:
        return ["not yet compared with the corpus for copies (the next cycle does it)"]
    scores = ", ".join(f"{k} {v}" for k, v in info.scores.items() if k != "story_names")
    lines: list[str | Table] = []
    if info.duplicate_of:
        lines.append(
            f"[b]copy[/] ({info.reason}) of {info.duplicate_of} "
            f"[i]{escape(info.original_title or '')}[/]: {scores}"
        )
    else:
        lines.append("[b]original[/]: no stored article is a copy source of it")
    if info.story:
        story = info.story
        shared = info.scores.get("story_names")
        why = f", joined for the names {', '.join(shared)}" if shared else ""
        lines.append(
            f"[b]story[/] #{story.id} [i]{escape(story.title)}[/] ({story.articles} articles{why})"
        )
        lines.append(sources(story))
    return lines
