"""What meaning adds, in the terminal: ``watchlist test``'s comparison, ``watchlist
suggest``, and the lines ``explain`` prints about it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import islice
from pathlib import Path

import click
from rich.table import Table

from monitor.app import meaning_source
from monitor.cli.articles import parse_since
from monitor.cli.state import State
from monitor.cli.term import add_row, markup, out
from monitor.config import Config
from monitor.core.types import ArticleText, Match
from monitor.match.engine import Matcher, RuleVerdict
from monitor.match.index import Index, compile_index
from monitor.match.meaning import MEANING_TERM, concept_key, concept_texts
from monitor.match.values import Rule, Watchlist
from monitor.meaning.sentences import split_article
from monitor.meaning.source import MeaningState
from monitor.watchlist.load import load_watchlist

BATCH = 64  # articles read by meaning at a time
MOST_ARTICLES = 2_000  # suggest reads at most this many (the newest), to stay quick
Found = list[tuple[ArticleText, Match]]


def meaning_matcher(
    config: Config, watchlists: Sequence[Watchlist], index: Index
) -> tuple[Matcher | None, MeaningState]:
    """A matcher that reads meaning too, or None and why not."""
    source = meaning_source(config)
    concepts = concept_texts(watchlists)
    judge = source.judge(concepts)
    if judge is None:
        return None, source.state
    return Matcher(index, judge, concepts), source.state


def replay(
    matcher: Matcher, articles: Iterable[ArticleText]
) -> Iterator[tuple[ArticleText, Match]]:
    iterator = iter(articles)
    while batch := list(islice(iterator, BATCH)):
        for article, matches in zip(batch, matcher.match_many(batch), strict=True):
            yield from ((article, match) for match in matches)


def print_added(name: str, rules: list[str], lexical: Found, meaning: Found) -> None:
    """Per rule: articles by the listed terms, with meaning, and what meaning added."""
    before = {(a.article_id, m.rule) for a, m in lexical}
    after = {(a.article_id, m.rule) for a, m in meaning}
    table = Table(title=markup("{}: what meaning adds", name), title_justify="left")
    for column in ("rule", "by terms", "with meaning", "added", "dropped"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for rule in rules:
        mine = {pair for pair in after if pair[1] == rule}
        theirs = {pair for pair in before if pair[1] == rule}
        add_row(table, rule, len(theirs), len(mine), len(mine - theirs), len(theirs - mine))
    out.print(table)
    added = [(a, m) for a, m in meaning if (a.article_id, m.rule) not in before]
    for article, match in added[:SHOWN_ADDED]:
        out.print(markup("[b]{}[/] [dim]{} · {}[/]", article.title, article.article_id, match.rule))
        for term in match.terms:
            if term.term.startswith(MEANING_TERM):
                field, start, end = term.hits[0]
                text = article.title if field == "title" else article.body
                out.print(markup("  {} {}: {}", term.ref, term.term, text[start:end]))
    if len(added) > SHOWN_ADDED:
        out.print(markup("[dim]… and {} more added[/]", len(added) - SHOWN_ADDED))


SHOWN_ADDED = 20


def print_meaning(verdict: RuleVerdict) -> None:
    """``explain``'s lines for the sentences matched by meaning and the terms it vetoed."""
    for name, counted in verdict.meaning:
        hit = counted.hit
        weight = (
            "counted 1"
            if counted.weight == 1
            else (f"counted {counted.weight:g}: {', '.join(counted.apart_from)} in other sentences")
        )
        out.print(
            markup(
                "    [dim]{}:[/] {} {:.2f} ≥ threshold {:.2f}, nearest its {} ({} {}-{}), {}: {}",
                name,
                MEANING_TERM,
                hit.similarity,
                hit.threshold,
                hit.nearest,
                hit.sentence.field,
                hit.sentence.start,
                hit.sentence.end,
                weight,
                hit.sentence.text,
            )
        )
    for name, veto in verdict.used_otherwise:
        sentence = veto.sentence
        out.print(
            markup(
                "    [dim]{}:[/] its term in {} {}-{} is used in another sense ({}): {}",
                name,
                sentence.field,
                sentence.start,
                sentence.end,
                veto.why,
                sentence.text,
            )
        )


def say_state(state: MeaningState) -> None:
    if state.on:
        out.print(markup("[dim]meaning: on, model {}[/]", state.model))
    else:
        out.print(markup("[yellow]meaning-matching is off[/]: {}", state.why))


@click.command("suggest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("concept")
@click.option("--since", default="30d", show_default=True, help="30d, 12h, or an ISO date.")
@click.option("--top", default=20, show_default=True, type=click.IntRange(1, 500))
@click.pass_obj
def suggest(state: State, file: Path, concept: str, since: str, top: int) -> None:
    """Sentences of the stored corpus nearest CONCEPT's meaning that its terms miss.

    Add the good ones to the concept as terms or examples; nothing is changed.
    """
    loaded = load_watchlist(file)
    ref = next((r for r in loaded.refs if r.name == concept and r.kind == "concept"), None)
    if ref is None:
        names = ", ".join(r.name for r in loaded.refs if r.kind == "concept") or "none"
        raise click.ClickException(f"{file}: no concept {concept!r} (its concepts: {names})")
    alone = replace(loaded, rules=(Rule(concept, any=(concept,)),))
    config = state.config
    settings = config.settings.watchlists
    lexical = Matcher(compile_index([alone], settings.languages, settings.default_language))
    source = meaning_source(config)
    texts = [c for c in concept_texts([alone]) if c.name == concept]
    judge = source.judge(texts) if texts else None
    if judge is None:
        why = source.state.why or f"{concept} has meaning turned off in {file}"
        raise click.ClickException(f"meaning-matching is off: {why}")
    sentences = _missed(lexical, _newest(state, since), settings.default_language)
    key = concept_key(alone, ref)
    near = judge.nearest(key, list(sentences), top)
    # The threshold tells which of them meaning matches already, and which it would not.
    threshold = judge.threshold(key)
    title = markup("{}: nearest phrasings its terms miss (threshold {:.2f})", concept, threshold)
    table = Table(title=title, title_justify="left")
    table.add_column("similarity", justify="right")
    table.add_column("sentence")
    table.add_column("article")
    for similarity, text in near:
        add_row(table, f"{similarity:.2f}", text, sentences[text])
    out.print(table)


def _newest(state: State, since: str) -> list[ArticleText]:
    repo = state.repo()
    try:
        articles = list(repo.articles_since(parse_since(since, state.clock.now())))
    finally:
        repo.close()
    return articles[-MOST_ARTICLES:]


def _missed(lexical: Matcher, articles: Sequence[ArticleText], language: str) -> dict[str, str]:
    """Each sentence the concept's terms do not find, once, with an article it is in."""
    out: dict[str, str] = {}
    for article in articles:
        for sentence in split_article(article.title, article.body):
            text = sentence.text
            probe = ArticleText(article.article_id, "", text, article.language or language)
            if text not in out and not lexical.match(probe):
                out[text] = article.article_id
    return out
