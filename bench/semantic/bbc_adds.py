"""What meaning adds to the example watchlists over the BBC corpus, for a person to judge.

    python -m bench.semantic.bbc_adds [--model DIR] [--articles N] [--out DIR]

Matches every BBC article (shared/data/bbc) with the example watchlists (watchlists/*.yaml)
twice, in batches of 200 as the match stage does: by their terms alone, and with meaning
(the judge's defaults: first test on, default threshold, vetoes on). Writes
DIR/meaning-bbc-adds.md: per rule, the matches by terms, with meaning, added and dropped;
then every added match (article file, title, the sentence, its similarity) and every
dropped one (with the veto's why), as ``monitor explain`` gives them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from bench import results
from bench.matching_data import BBC, read_articles
from bench.tables import Table
from bench.ui import Progress
from monitor.core.types import ArticleText
from monitor.match.engine import Matcher, RuleVerdict
from monitor.match.index import compile_index
from monitor.match.meaning import concept_texts
from monitor.match.values import Watchlist
from monitor.meaning.judge import Judge
from monitor.watchlist.load import load_watchlist

WATCHLISTS = results.ROOT / "watchlists"
BATCH = 200
OUT = "meaning-bbc-adds.md"

Key = tuple[str, str]  # watchlist, rule


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(log_path=False)
    with Progress(console) as progress:
        progress.step("loading the watchlists, the model and the articles")
        watchlists = [load_watchlist(p) for p in sorted(WATCHLISTS.glob("*.yaml"))]
        index = compile_index(watchlists, languages=("en",), default="en")
        concepts = concept_texts(watchlists)
        model = args.model or _exported()
        from monitor.meaning.encoder import load_encoder

        judge = Judge(load_encoder(model, threads=1), concepts)
        lexical, meaning = Matcher(index), Matcher(index, judge, concepts)
        articles = read_articles(limit=args.articles)
        progress.done(f"{len(watchlists)} watchlists, {len(concepts)} concepts by meaning")
        progress.step(f"matching {len(articles):,} articles, by terms and with meaning")
        changed = _changed(articles, lexical, meaning, progress)
        differ = [article for article, a, b in changed if a != b]
        progress.step(f"explaining the {len(differ)} articles whose matches changed")
        explained = {article.article_id: meaning.explain(article) for article in differ}
    text = document(args, model, watchlists, changed, explained)
    out = args.out / OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    console.print(Table("Per rule", COLUMNS, rule_rows(changed, watchlists), "l" + "r" * 4).rich())
    console.print(f"wrote {out}")
    return 0


Changed = tuple[ArticleText, set[Key], set[Key]]  # article, by terms, with meaning


def _changed(
    articles: Sequence[ArticleText], lexical: Matcher, meaning: Matcher, progress: Progress
) -> list[Changed]:
    """Every article (its two match sets), kept whole for the per-rule counts."""
    out: list[Changed] = []
    started = time.monotonic()
    for at in range(0, len(articles), BATCH):
        batch = articles[at : at + BATCH]
        by_terms = lexical.match_many(batch)
        with_meaning = meaning.match_many(batch)
        for article, a, b in zip(batch, by_terms, with_meaning, strict=True):
            out.append(
                (article, {(m.watchlist, m.rule) for m in a}, {(m.watchlist, m.rule) for m in b})
            )
        done = at + len(batch)
        progress.update(f"{done:,}/{len(articles):,} ({time.monotonic() - started:.0f} s)")
    return out


def _exported() -> str:
    from tests.model import exported_model

    return str(exported_model())


COLUMNS = ("watchlist / rule", "by terms", "with meaning", "added", "dropped")


def rule_rows(changed: Sequence[Changed], watchlists: Sequence[Watchlist]) -> list[list[str]]:
    terms: Counter[Key] = Counter()
    with_meaning: Counter[Key] = Counter()
    added: Counter[Key] = Counter()
    dropped: Counter[Key] = Counter()
    for _, a, b in changed:
        terms.update(a)
        with_meaning.update(b)
        added.update(b - a)
        dropped.update(a - b)
    keys = [(w.name, r.name) for w in watchlists for r in w.rules]
    return [
        [
            f"{w} / {r}",
            str(terms[(w, r)]),
            str(with_meaning[(w, r)]),
            str(added[(w, r)]),
            str(dropped[(w, r)]),
        ]
        for w, r in keys
    ]


def document(
    args: argparse.Namespace,
    model: str,
    watchlists: Sequence[Watchlist],
    changed: Sequence[Changed],
    explained: dict[str, list[RuleVerdict]],
) -> str:
    n_changed = sum(1 for _, a, b in changed if a != b)
    lines = [
        "# What meaning adds to the example watchlists over the BBC corpus",
        "",
        f"- {len(changed):,} BBC articles ({BBC}), watchlists/*.yaml, batches of {BATCH}",
        f"- model: {model} (judge defaults: first test on, default threshold, vetoes on)",
        f"- command: `python -m bench.semantic.bbc_adds {' '.join(args.argv)}`".rstrip(),
        f"- {n_changed} articles whose matches changed; each listed below as "
        "`monitor explain` gives it",
        "",
        *Table("Per rule", COLUMNS, rule_rows(changed, watchlists), "l" + "r" * 4).markdown(),
        "",
    ]
    for article, a, b in changed:
        for key in sorted(b - a):
            lines += _added(article, key, explained[article.article_id])
        for key in sorted(a - b):
            lines += _dropped(article, key, explained[article.article_id])
    return "\n".join(lines) + "\n"


def _verdict(verdicts: list[RuleVerdict], key: Key) -> RuleVerdict:
    return next(v for v in verdicts if (v.watchlist, v.rule) == key)


def _head(kind: str, article: ArticleText, key: Key, v: RuleVerdict) -> list[str]:
    return [
        f"## {kind}: {key[0]} / {key[1]}: {article.article_id}.txt",
        "",
        f"*{_clean(article.title)}* (score {v.score:g})",
        "",
    ]


def _added(article: ArticleText, key: Key, verdicts: list[RuleVerdict]) -> list[str]:
    v = _verdict(verdicts, key)
    lines = _head("added", article, key, v)
    for concept, counted in v.meaning:
        hit = counted.hit
        apart = f", apart from {', '.join(counted.apart_from)}" if counted.apart_from else ""
        lines.append(
            f"- ≈ {concept}: similarity {hit.similarity:.2f} (threshold {hit.threshold:.2f}, "
            f"nearest {hit.nearest}; counted {counted.weight:g}{apart}): "
            f"“{_clean(hit.sentence.text)}”"
        )
    lines += [f"- {t.ref}: {t.term} ×{t.times}" for t in v.terms]
    return [*lines, ""]


def _dropped(article: ArticleText, key: Key, verdicts: list[RuleVerdict]) -> list[str]:
    v = _verdict(verdicts, key)
    lines = _head("dropped", article, key, v)
    for concept, veto in v.used_otherwise:
        lines.append(
            f"- vetoed {concept}: {veto.why}; sentence (similarity {veto.similarity:.2f}): "
            f"“{_clean(veto.sentence.text)}”"
        )
    lines += [f"- reason: {reason}" for reason in v.reasons]
    return [*lines, ""]


def _clean(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.semantic.bbc_adds", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--model", help="the int8 ONNX model's directory (default: the tests')")
    parser.add_argument("--articles", type=int, help="at most N articles (all 2,225)")
    parser.add_argument("--out", type=Path, default=results.RESULTS)
    args = parser.parse_args(results.command_argv(argv))
    args.argv = results.command_argv(argv)
    return args


if __name__ == "__main__":
    sys.exit(main())
