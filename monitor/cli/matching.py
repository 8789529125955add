"""``monitor watchlist schema|test`` and ``monitor explain``: why articles match."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from monitor.app import meaning_source
from monitor.cli.articles import parse_since
from monitor.cli.meaning import meaning_matcher, print_added, print_meaning, replay, say_state
from monitor.cli.state import State
from monitor.cli.stories import describe
from monitor.cli.term import markup, out
from monitor.core.types import ArticleText, Hit, Match
from monitor.match.engine import Matcher, RuleVerdict
from monitor.match.index import compile_index
from monitor.watchlist.load import load_watchlist
from monitor.watchlist.registry import Registry
from monitor.watchlist.spec import json_schema

console = out
SHOWN = 20


@click.group("watchlist")
def watchlist() -> None:
    """Write and try watchlists."""


@watchlist.command("schema")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path))
def schema(output: Path | None) -> None:
    """Print the JSON Schema of watchlist files (for editors: validation, completion)."""
    text = json.dumps(json_schema(), indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}", style="dim")
    else:
        click.echo(text, nl=False)


@watchlist.command("test")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--since", default="7d", show_default=True, help="7d, 12h, or an ISO date.")
@click.pass_obj
def test(state: State, file: Path, since: str) -> None:
    """Replay the stored articles against FILE and show what would have matched.

    Nothing is stored or sent.
    """
    loaded = load_watchlist(file)
    settings = state.config.settings.watchlists
    index = compile_index([loaded], settings.languages, settings.default_language)
    lexical = Matcher(index)
    by_meaning, meaning = meaning_matcher(state.config, [loaded], index)
    start = parse_since(since, state.clock.now())
    repo = state.repo()
    checked, found = 0, list[tuple[ArticleText, Match]]()
    try:
        for article in repo.articles_since(start):
            checked += 1
            found.extend((article, match) for match in lexical.match(article))
        with_meaning = list(replay(by_meaning, repo.articles_since(start))) if by_meaning else []
    finally:
        repo.close()
    rules = [rule.name for rule in loaded.rules]
    _print_replay(loaded.name, rules, checked, with_meaning if by_meaning else found)
    if by_meaning is not None:
        print_added(loaded.name, rules, found, with_meaning)
    elif any(ref.kind == "concept" for ref in loaded.refs):
        say_state(meaning)


def _print_replay(
    name: str, rules: list[str], checked: int, found: list[tuple[ArticleText, Match]]
) -> None:
    per_rule = Counter(match.rule for _, match in found)
    replayed = f"{checked} article{'' if checked == 1 else 's'} replayed"
    table = Table(title=f"{name}: {replayed}", title_justify="left")
    table.add_column("rule")
    table.add_column("articles", justify="right")
    for rule in rules:
        table.add_row(rule, str(per_rule.get(rule, 0)))
    console.print(table)
    for article, match in sorted(found, key=lambda pair: -pair[1].score)[:SHOWN]:
        console.print(
            f"[b]{escape(article.title)}[/] [dim]{article.article_id} · {match.rule} · "
            f"score {match.score:g}[/]"
        )
        console.print(highlighted(match))
    if len(found) > SHOWN:
        console.print(f"[dim]… and {len(found) - SHOWN} more[/]")


def highlighted(match: Match) -> Text:
    text = Text("  " + match.snippet)
    for start, end in match.highlights:
        text.stylize("bold yellow", start + 2, end + 2)
    return text


@click.command("explain")
@click.argument("article_id")
@click.pass_obj
def explain(state: State, article_id: str) -> None:
    """Why an article matched each watchlist, or why not."""
    repo = state.repo()
    try:
        article = repo.article_text(article_id)
        stored = repo.matches_of([article_id]).get(article_id, [])
        near = repo.near_of(article_id)
    finally:
        repo.close()
    if article is None:
        raise click.ClickException(f"no article {article_id}")
    settings = state.config.settings.watchlists
    meaning = meaning_source(state.config)
    registry = Registry(
        state.config.watchlist_dir, settings.languages, settings.default_language, meaning=meaning
    )
    registry.refresh(settle=0.0)
    console.print(markup("[b]{}[/] [dim]{} · {}[/]", article.title, article_id, article.feed_url))
    for line in describe(near) if near else ():
        console.print(line)
    for path, error in registry.errors.items():
        console.print(f"[red]not loaded[/] {path}: {escape(error)}")
    verdicts = registry.matcher.explain(article)
    if meaning.state.on or meaning.state.why:
        say_state(meaning.state)
    if not verdicts:
        console.print(f"no watchlists in {state.config.watchlist_dir}")
    for verdict in verdicts:
        _print_verdict(verdict)
    if stored:
        console.print("[b]stored matches[/]")
        for match in stored:
            console.print(
                f"  {match['watchlist']} / {match['rule']}: score {match['score']:g}, "
                f"matched {match['matched_at']}"
            )


def _print_verdict(verdict: RuleVerdict) -> None:
    mark = "[green]matches[/]" if verdict.matched else "[red]no match[/]"
    console.print(f"{mark} {verdict.watchlist} / {verdict.rule} (score {verdict.score:g})")
    for reason in verdict.reasons:
        console.print(f"    because {escape(reason)}")
    for term in verdict.terms:
        places = ", ".join(_where(span) for span in term.spans[:5])
        more = ", …" if len(term.spans) > 5 else ""
        console.print(
            f"    [dim]{term.ref}:[/] {escape(term.term)} ×{term.times}  ({places}{more})"
        )
    print_meaning(verdict)
    for veto in verdict.vetoes:
        console.print(
            f"    [dim]{veto.ref}:[/] {escape(veto.term)} at {_where(veto.span)} vetoed by "
            f"the exclusion {escape(veto.exclusion)} ({_where(veto.at)})"
        )


def _where(span: Hit) -> str:
    field, start, end = span
    return f"{field} {start}-{end}"
