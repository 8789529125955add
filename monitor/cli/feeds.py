"""``monitor feeds``: list with health, add, remove, import and export OPML."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli import opml
from monitor.cli.params import duration
from monitor.cli.render import feeds_table
from monitor.cli.state import State
from monitor.cli.term import markup, out
from monitor.core.errors import ConfigError
from monitor.core.types import AddressPolicy, FeedSpec
from monitor.fetch.http import refusal

console = out


def remote_url(url: str, policy: AddressPolicy) -> str:
    if not url.strip().lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"{url}: only http and https feeds can be added here (local files go in monitor.yaml)"
        )
    # Judged as the fetcher judges it: 127。0。0。1 is 127.0.0.1 (network.allow_private).
    refused = refusal(url.strip(), policy)
    if refused is not None:
        raise ConfigError(refused)
    return url.strip()


@click.group()
def feeds() -> None:
    """Manage the feeds being followed."""


@feeds.command("list")
@click.option("--all", "everything", is_flag=True, help="Include stopped feeds.")
@click.pass_obj
def list_feeds(state: State, everything: bool) -> None:
    """Show each feed's health: status, last error, last new article, next poll."""
    repo = state.repo()
    try:
        console.print(feeds_table(repo.feeds(include_inactive=everything), state.clock.now()))
    finally:
        repo.close()


@feeds.command("add")
@click.argument("url")
@click.option("--title", help="Name shown in tables (default: the feed's own title).")
@click.option(
    "--interval",
    callback=duration(60, 365 * 86400),
    metavar="DURATION",
    help="Time between polls: 15m, 2h, 1d or seconds (default: polling.interval).",
)
@click.pass_obj
def add(state: State, url: str, title: str | None, interval: int | None) -> None:
    """Follow a feed (http or https)."""
    spec = FeedSpec(url=remote_url(url, state.config.policy()), title=title, interval_s=interval)
    repo = state.repo()
    try:
        added = repo.add_feed(spec, "cli", state.clock.now())
    finally:
        repo.close()
    console.print(markup("added {}" if added else "already followed: {}", spec.url))


@feeds.command("remove")
@click.argument("url")
@click.pass_obj
def remove(state: State, url: str) -> None:
    """Stop following a feed (its articles stay in the corpus)."""
    repo = state.repo()
    try:
        info = repo.find_feed(url)
        if info is None:
            raise click.ClickException(f"no such feed: {url}")
        if info.origin == "config":
            raise ConfigError(f"{url} is declared in {state.config.source}: remove it there")
        repo.remove_feed(url)
    finally:
        repo.close()
    console.print(markup("stopped following {}", url))


@feeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def import_opml(state: State, path: Path) -> None:
    """Follow every http(s) feed of an OPML file."""
    outlines, rejected = opml.read(path, state.config.policy())
    repo = state.repo()
    try:
        now = state.clock.now()
        added = sum(
            repo.add_feed(FeedSpec(url=o.url, title=o.title), "opml", now) for o in outlines
        )
    finally:
        repo.close()
    for item in rejected:
        console.print(markup("[yellow]skipped[/] {}: {}", item.url, item.reason))
    console.print(
        markup(
            "imported {}: {} new, {} already followed, {} skipped",
            path,
            added,
            len(outlines) - added,
            len(rejected),
        )
    )


@feeds.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.pass_obj
def export_opml(state: State, path: Path | None) -> None:
    """Write the followed http(s) feeds as OPML, to PATH or standard output."""
    repo = state.repo()
    try:
        text = opml.write(f for f in repo.feeds() if not f.local)
    finally:
        repo.close()
    if path is None:
        click.echo(text, nl=False)
    else:
        path.write_text(text, encoding="utf-8")
        console.print(markup("wrote {}", path))
