"""``monitor articles``: export the corpus, delete an article (leaving a tombstone)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import click

from monitor.cli.state import State
from monitor.cli.term import err, markup
from monitor.core.clock import as_utc
from monitor.near.filing import text_keys

console = err


def parse_since(value: str, now: datetime, option: str = "--since") -> datetime:
    """``7d``, ``12h``, ``30m`` ago, or an ISO date/time (UTC unless it says otherwise)."""
    match = re.fullmatch(r"(\d+)([mhdw])", value.strip())
    try:
        if match:
            unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match[2]]
            return now - timedelta(**{unit: int(match[1])})
        return as_utc(datetime.fromisoformat(value))
    except OverflowError:
        message = f"{value} is too far back (the calendar starts at year 1)"
    except ValueError:
        message = f"{value}: expected 7d, 12h, 30m, 2w or an ISO date such as 2024-11-01"
    raise click.BadParameter(message, param_hint=f"'{option}'")


@click.group()
def articles() -> None:
    """Work with the stored articles."""


@articles.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--since", help="Only articles first seen since then: 7d, 12h, or an ISO date.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: standard output).",
)
@click.pass_obj
def export(state: State, fmt: str, since: str | None, output: Path | None) -> None:
    """One JSON object per article, oldest first, with the copies seen of it."""
    start = parse_since(since, state.clock.now()) if since else None
    repo = state.repo()
    count = 0
    try:
        with click.open_file(str(output) if output else "-", "w", encoding="utf-8") as out:
            for record in repo.export_articles(start):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    finally:
        repo.close()
    console.print(markup("exported {} articles" + (" to {}" if output else ""), count, output))


@articles.command("delete")
@click.argument("article_id")
@click.pass_obj
def delete(state: State, article_id: str) -> None:
    """Delete an article; its fingerprints stay so it is never ingested again."""
    repo = state.repo()
    try:
        found = repo.delete_article(article_id, text_keys)
    finally:
        repo.close()
    if not found:
        raise click.ClickException(f"no article {article_id}")
    console.print(markup("deleted {} (a tombstone keeps it from coming back)", article_id))


@articles.command("purge")
@click.option(
    "--older-than", required=True, help="Articles first seen before then: 90d, 12w, or a date."
)
@click.pass_obj
def purge(state: State, older_than: str) -> None:
    """Empty old article bodies; titles, sketches, stories and matches stay.

    A copy of a purged article is still recognised, so an old story is never
    alerted as new. (Set duplicates.purge_bodies_after in monitor.yaml to have the
    daemon do it.)
    """
    now = state.clock.now()
    before = parse_since(older_than, now, "--older-than")
    repo = state.repo()
    try:
        count = repo.purge_bodies(before, now)
    finally:
        repo.close()
    console.print(
        markup("purged the bodies of {} articles first seen before {:%Y-%m-%d}", count, before)
    )
