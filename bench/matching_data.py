"""Inputs of the matching benchmark: real actors, news concepts, BBC articles, rule sets,
and the naive one-regular-expression-per-rule matcher it is compared with.

Everything is read at run time from the shared data directory (nothing is copied into
the project) and built deterministically from a seed, so a rule set of a given size is
the same on every run.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.neardup_data import SHARED, decode
from monitor.core.types import ArticleText
from monitor.match.values import Ref, Rule, Term, Watchlist
from monitor.watchlist.terms import parse_term


def _shared_data() -> Path:
    """The shared data directory: beside the checkout, or beside a parent of it (a git
    worktree under /work/wt/NAME reads /work/shared/data like /work/main does)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "data" / "bbc").is_dir():
            return parent / "shared" / "data"
    return SHARED


DATA = _shared_data()
PHOENIX = DATA / "phoenix"
BBC = DATA / "bbc"
ACTOR_FILES = (  # the first gives tiers 0 (countries) and 2 (the rest), the others tier 1
    "Phoenix.Countries.actors.txt",
    "Phoenix.International.actors.txt",
    "Phoenix.MilNonState.actors.txt",
)
AGENT_FILE = "Phoenix.agents.txt"
CONCEPT_NEAR = 5  # a watchlist's default NEAR window for concepts (WatchlistSpec.near)
ANY_EVERY = 4  # every 4th rule: all: [actor], any: [two concepts]
RULES_PER_WATCHLIST = 10  # up to 100 watchlists, then more rules in each
MAX_WATCHLISTS = 100

# About twenty news concepts in the watchlist term syntax: plain words are stemmed
# (several words: within NEAR/5, any order), "quoted" is exact, word* a prefix.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "troop deployment": (
        "troop deployment",
        "deploy* troops",
        "military build-up",
        '"boots on the ground"',
        "peacekeeping force",
    ),
    "missiles": ("ballistic missile*", "missile test*", "warhead*", "cruise missile*"),
    "sanctions": ("sanction*", "trade embargo", "asset freeze", "arms embargo"),
    "interest rates": ("interest rate*", "rate rise", "rate cut", "central bank", "base rate"),
    "elections": ("election*", "ballot*", "polling station*", "opinion poll*", "vote count"),
    "protests": ("protest*", "demonstrator*", "riot*", "march* NEAR/3 streets"),
    "oil price": ("oil price*", "crude oil", "opec", "barrel*", "petrol price*"),
    "mergers": ("merger*", "acquisition*", "takeover bid", "buyout", "hostile bid"),
    "strikes": ("strike action", "industrial action", "walkout", "trade union*", "go on strike"),
    "ceasefire": ("ceasefire", "cease-fire", "truce", "peace talks", "peace deal NEAR/3"),
    "terrorism": ("terror*", "suicide bomb*", "militant*", "hostage*"),
    "nuclear": ("nuclear programme", "uranium enrichment", "nuclear weapon*", "atomic energy"),
    "trade": ("trade deficit", "tariff*", "trade deal", "free trade", "export* NEAR/3 growth"),
    "inflation": ("inflation", "consumer price*", '"cost of living"', "price rises"),
    "jobs": ("unemployment", "jobless*", "job cuts", "layoff*", "redundanc*"),
    "corruption": ("corruption", "bribe*", "embezzle*", "fraud", "money laundering"),
    "migration": ("refugee*", "asylum seeker*", "migrant*", "immigration", "displaced people"),
    "cyber": ("hacker*", "cyber attack*", "virus", "phishing", "spam", "data breach"),
    "courts": ('"high court"', "court ruling", "lawsuit*", "appeal court", "convicted"),
    "stock markets": ("stock market*", "share price*", '"FTSE 100"', "dow jones", "shares fell"),
    "disasters": ("earthquake*", "tsunami", "flood*", "hurricane*", "aid agencies"),
}


@dataclass(frozen=True)
class Entry:
    """An actor or concept as read: a name, the tier it comes from, its term sources."""

    name: str
    tier: int
    terms: tuple[str, ...]
    description: str = ""  # concepts: what the meaning model reads (the lexical rows ignore it)


@dataclass
class Skipped:
    """Aliases that parse_term refused (kept to report, not silently dropped)."""

    count: int = 0
    examples: list[str] | None = None

    def add(self, source: str, reason: str) -> None:
        self.count += 1
        if self.examples is None:
            self.examples = []
        if len(self.examples) < 5:
            self.examples.append(f"{source!r}: {reason}")


def _phrase(raw: str) -> str:
    """TABARI ``NORTH_KOREA_`` → ``NORTH KOREA`` (underscores are spaces)."""
    return " ".join(raw.replace("_", " ").split())


def read_actors(directory: Path = PHOENIX) -> list[Entry]:
    """Actors of the three TABARI actor files: a line starting an actor, then ``+``
    synonyms; comments after ``#``; tab-indented (code/date) lines and ``!`` macros
    skipped. Tier 0: countries (a 3-letter code in the countries file); tier 1: the
    international and non-state files; tier 2: the rest (leaders, institutions)."""
    actors: list[Entry] = []
    seen: set[str] = set()
    for number, filename in enumerate(ACTOR_FILES):
        current: tuple[str, int, list[str]] | None = None
        text = (directory / filename).read_text(encoding="utf-8", errors="replace")
        for line in [*text.splitlines(), ""]:
            if line[:1] in ("\t", " ") or "!" in line:
                continue
            body = line.split("#", 1)[0]
            if not body.strip():
                continue
            if body.startswith("+"):
                alias = _phrase(body[1:].split("[", 1)[0])
                if current is not None and alias:
                    current[2].append(alias)
                continue
            name = _phrase(body.split("[", 1)[0].split("{", 1)[0])
            if not name:
                continue
            if current is not None and current[0].lower() not in seen:
                seen.add(current[0].lower())
                actors.append(Entry(current[0], current[1], tuple(dict.fromkeys(current[2]))))
            code = re.search(r"\[([A-Z]{3})\]", body)
            tier = 1 if number > 0 else 0 if code else 2
            current = (name, tier, [name])
    return actors


def read_agent_concepts(directory: Path = PHOENIX) -> list[Entry]:
    """Agent nouns (``FARMER [~AGR]``) grouped by the first three letters of their
    code, as concepts: farmers, military, police, business, ..."""
    groups: dict[str, list[str]] = {}
    text = (directory / AGENT_FILE).read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        body = line.split("#", 1)[0]
        found = re.search(r"\[~([A-Z]{3})[A-Z]*\]", body)
        if not found or "!" in body or body[:1] in ("\t", " ", "+"):
            continue
        noun = _phrase(body[: found.start()].split("{", 1)[0])
        if noun:
            groups.setdefault(found[1], []).append(noun)
    return [
        Entry(f"agents {code}", 3, tuple(dict.fromkeys(nouns)))
        for code, nouns in sorted(groups.items())
        if len(nouns) >= 5
    ]


def read_articles(directory: Path = BBC, limit: int | None = None) -> list[ArticleText]:
    """The BBC articles (first line the title, the rest the body), in a fixed order."""
    out: list[ArticleText] = []
    for path in sorted(directory.glob("*/*.txt")):
        title, _, body = decode(path.read_bytes()).strip().partition("\n")
        article_id = f"{path.parent.name}/{path.stem}"
        out.append(ArticleText(article_id, title.strip(), body.strip(), language="en"))
    if limit is not None:
        # An even spread over the five topics, not the first N of "business".
        step = max(1, len(out) // max(1, limit))
        out = out[::step][:limit]
    return out


@dataclass
class RuleSet:
    size: int
    watchlists: list[Watchlist]
    actors_used: int
    concepts_used: int
    aliases: int  # actor alias terms compiled (after skipping refused ones)
    concept_terms: int
    skipped: Skipped
    # Per rule, for the naive matcher: (watchlist, rule, all term lists, any term lists)
    plain: list[tuple[str, str, list[tuple[str, ...]], list[tuple[str, ...]]]]


def order_actors(actors: list[Entry], seed: int) -> list[Entry]:
    """Countries first, then organisations and armed groups, then the rest; each
    tier shuffled with ``seed``. A small rule set watches countries, a big one reaches
    leaders, ministries and obscure groups."""
    rng = random.Random(seed)
    ordered: list[Entry] = []
    for tier in (0, 1, 2):
        group = [a for a in actors if a.tier == tier]
        rng.shuffle(group)
        ordered += group
    return ordered


def build_rules(
    size: int, actors: list[Entry], concepts: list[Entry], skipped: Skipped | None = None
) -> RuleSet:
    """``size`` distinct rules. The first A = min(size, number of actors) actors with at
    least one alias ``parse_term`` accepts are used; rule i watches actor ``a = i mod A``
    with concept ``(a + i div A) mod C``: one rule per actor until the actors run out,
    then each actor again with the next concept (at most A × C rules). Every
    ANY_EVERY-th rule is ``all: [actor], any: [concept, the concept 7 further]``, the
    others ``all: [actor, concept]``. Rules go into up to MAX_WATCHLISTS watchlists of
    consecutive rules, each holding only the actors and concepts its rules use."""
    skipped = skipped or Skipped()

    def terms(entry: Entry, near: int | None) -> tuple[Term, ...]:
        out = []
        for source in entry.terms:
            try:
                out.append(parse_term(source, near))
            except ValueError as exc:
                skipped.add(source, str(exc))
        return tuple(out)

    usable: list[tuple[Entry, tuple[Term, ...]]] = []
    for entry in actors:
        if len(usable) == size:
            break
        parsed = terms(entry, None)
        if parsed:  # an actor without one usable alias could not be matched at all
            usable.append((entry, parsed))
    n_actors, n_concepts = len(usable), len(concepts)
    if size > n_actors * n_concepts:
        raise ValueError(f"at most {n_actors * n_concepts} distinct rules")

    # (rule number, actor, concepts in all, concepts in any)
    specs: list[tuple[int, int, tuple[int, ...], tuple[int, ...]]] = []
    for i in range(size):
        a, lap = i % n_actors, i // n_actors
        c = (a + lap) % n_concepts
        if i % ANY_EVERY == ANY_EVERY - 1:
            specs.append((i, a, (), (c, (c + 7) % n_concepts)))
        else:
            specs.append((i, a, (c,), ()))
    concept_terms: dict[int, tuple[Term, ...]] = {}
    for _, _, alls, anys in specs:
        for k in (*alls, *anys):
            if k not in concept_terms:
                concept_terms[k] = terms(concepts[k], CONCEPT_NEAR)

    n_lists = max(1, min(MAX_WATCHLISTS, size // RULES_PER_WATCHLIST))
    per_list = -(-size // n_lists)
    watchlists, plain = [], []
    for w in range(n_lists):
        chunk = specs[w * per_list : (w + 1) * per_list]
        if not chunk:
            break
        name = f"wl{w:03d}"
        refs: dict[str, Ref] = {}
        rules = []
        for i, a, alls, anys in chunk:
            actor_terms = usable[a][1]
            aname = f"actor{a}"
            refs.setdefault(aname, Ref(aname, "actor", actor_terms))
            cnames = {k: f"concept{k}" for k in (*alls, *anys)}
            for k, cname in cnames.items():
                refs.setdefault(
                    cname,
                    Ref(cname, "concept", concept_terms[k], description=concepts[k].description),
                )
            all_names = (aname, *(cnames[k] for k in alls))
            rule = Rule(f"r{i}", all=all_names, any=tuple(cnames[k] for k in anys))
            rules.append(rule)
            plain.append(
                (
                    name,
                    rule.name,
                    [_sources(actor_terms), *(_sources(concept_terms[k]) for k in alls)],
                    [_sources(concept_terms[k]) for k in anys],
                )
            )
        watchlists.append(
            Watchlist(name, f"bench:{name}", refs=tuple(refs.values()), rules=tuple(rules))
        )
    return RuleSet(
        size,
        watchlists,
        n_actors,
        len(concept_terms),
        sum(len(t) for _, t in usable),
        sum(len(t) for t in concept_terms.values()),
        skipped,
        plain,
    )


def _sources(terms: tuple[Term, ...]) -> tuple[str, ...]:
    """The terms as written, for the naive matcher: the same ones monitor compiled."""
    return tuple(term.source for term in terms)


# The naive approach ----------------------------------------------------------------

_NEAR_SUFFIX = re.compile(r"\s+NEAR/\d+\s*$")


def naive_regex(sources: tuple[str, ...]) -> str:
    r"""What a user would write for a list of terms: one alternation, words matched
    case-insensitively between \b boundaries and separated by non-word characters,
    ``word*`` as ``word\w*``. No stemming, no NEAR (its words must be side by side)."""
    alternatives = []
    for source in sources:
        text = _NEAR_SUFFIX.sub("", source).strip().strip('"')
        words = []
        for raw in text.split():
            prefix = raw.endswith("*")
            parts = re.findall(r"\w+", raw.rstrip("*"))
            if not parts:
                continue
            escaped = r"\W+".join(map(re.escape, parts))
            words.append(escaped + (r"\w*" if prefix else ""))
        if words:
            alternatives.append(r"\W+".join(words))
    return r"\b(?:" + "|".join(alternatives) + r")\b"


class NaiveMatcher:
    """One compiled regular expression per required actor or concept of each rule,
    tried rule after rule: a rule matches when every ``all`` expression finds
    something and, if it has ``any``, at least one of those does."""

    def __init__(self, plain: list[tuple[str, str, list[tuple[str, ...]], list[tuple[str, ...]]]]):
        self.rules = [
            (
                watchlist,
                rule,
                [re.compile(naive_regex(t), re.IGNORECASE) for t in alls],
                [re.compile(naive_regex(t), re.IGNORECASE) for t in anys],
            )
            for watchlist, rule, alls, anys in plain
        ]

    def match(self, article: ArticleText) -> Iterator[tuple[str, str]]:
        text = f"{article.title}\n{article.body}"
        for watchlist, rule, alls, anys in self.rules:
            if all(r.search(text) for r in alls) and (
                not anys or any(r.search(text) for r in anys)
            ):
                yield watchlist, rule
