"""Every term of every watchlist compiled for one reading of each article.

Each term is a sequence of word tests (a stem, a word as written, a prefix).
One word of each term, its *anchor* (its rarest word), is looked for; the rest of
the term is checked next to the anchor when it is found (monitor.match._scan,
which keeps a Lexicon per language: the words met, and the terms each anchors).
Equal terms and equal actors/concepts in different watchlists are compiled once.
Each rule is filed under one of its required actors or concepts, the one the
fewest rules share, so an article only wakes the rules whose terms occurred:
the cost of matching grows with what the article mentions, not with the number
of rules (the idea of Lucene's Monitor and the Elasticsearch percolator).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from monitor.match._rules import RulePlan
from monitor.match._scan import Lexicon, Wakeup
from monitor.match.regex import Regex, compile_regex
from monitor.match.values import Pattern, Rule, Term, Watchlist, Word
from monitor.text.rarity import commonness
from monitor.text.stems import SUPPORTED, Stems

if TYPE_CHECKING:
    from monitor.match._scan import PatternSpec

# Words this short are matched as written: "UN" has no inflections worth a prefix
# that every word starting with "u" would hit.
SHORTEST_STEMMED = 2


# A key names what finds a word or a sequence of words side by side: the words as
# written (folded), separated by spaces, or their stems, separated by STEM_SEP.
# Keys only serve to rank anchors (their length) and to tell equal ones apart.
STEM_SEP = "\x1e"
Keys = dict[str, frozenset[str] | None]  # key → the languages it is for (None: all)


@dataclass(frozen=True, slots=True, eq=False)  # compared by identity: one per word
class CompiledWord:
    word: Word
    stems: dict[str, str]  # language → stem, for stem words
    match_case: bool = False

    @property
    def lower(self) -> str:
        return self.word.text.lower()

    def keys(self) -> Keys:
        """Keys that find this word (see Keys)."""
        return _sequence_keys((self,))


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    pattern: Pattern
    words: tuple[CompiledWord, ...]
    anchor: int  # the word looked for, when the keys do not find the whole term
    regex: Regex | None = None  # RE2 (monitor.match.regex)
    whole: bool = False  # the keys find the whole term: nothing left to check
    # By language: the stems and the written words the article must contain for the
    # other words to be there; checked before looking closer.
    needs: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)

    def keys(self) -> Keys:
        if self.whole:
            return _sequence_keys(self.words)
        return self.words[self.anchor].keys()


@dataclass(frozen=True, slots=True)
class CompiledRef:
    terms: tuple[tuple[int, Term], ...]  # pattern id, the term (its source and weight)
    exclude: tuple[int, ...]
    excluded: tuple[str, ...] = ()  # the exclusions as written, same order, for explanations
    # pattern id → indexes in ``terms``; regular expressions under -1
    slots: dict[int, tuple[int, ...]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def regex(self) -> tuple[int, ...]:
        return tuple(pid for pid, term in self.terms if term.pattern.regex is not None)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    watchlist: Watchlist
    rule: Rule
    refs: dict[str, int]  # the watchlist's actor/concept names → ref ids
    required: tuple[int, ...] = ()  # ref ids of ``all`` that the scan can find
    # Ref ids of ``any``, one of which must occur, when the scan can find them all
    # (empty: nothing to check)
    any_of: frozenset[int] = frozenset()
    weights: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    filters: bool = True  # languages or feeds to check before the terms


@dataclass
class Index:
    languages: tuple[str, ...]
    default_language: str
    patterns: list[CompiledPattern] = field(default_factory=list)
    refs: list[CompiledRef] = field(default_factory=list)
    pattern_refs: list[list[int]] = field(default_factory=list)
    rules: list[CompiledRule] = field(default_factory=list)
    # The rules as decided (monitor.match._rules), same order; each made when first woken
    plans: list[RulePlan | None] = field(default_factory=list)
    rules_by_ref: dict[int, list[int]] = field(default_factory=dict)
    always: list[int] = field(default_factory=list)  # rules with no term to file them under
    stemmers: dict[str, Stems] = field(default_factory=dict)
    lexicons: dict[str, Lexicon] = field(default_factory=dict)  # by language
    wakeup: Wakeup | None = None  # the rules an article wakes (filed, always)


def compile_index(
    watchlists: Iterable[Watchlist], languages: Sequence[str] = ("en",), default: str = "en"
) -> Index:
    usable = tuple(dict.fromkeys(code for code in (default, *languages) if code in SUPPORTED))
    index = Index(usable or ("en",), default if default in SUPPORTED else "en")
    index.stemmers = {code: Stems(code) for code in index.languages}
    builder = _Builder(index)
    for watchlist in watchlists:
        builder.add(watchlist)
    builder.finish()
    return index


class _Builder:
    def __init__(self, index: Index) -> None:
        self.index = index
        self.pattern_ids: dict[Pattern, int] = {}
        self.ref_ids: dict[CompiledRef, int] = {}
        self.words: dict[tuple[Word, bool], CompiledWord] = {}

    def add(self, watchlist: Watchlist) -> None:
        used = {name for rule in watchlist.rules for name in (*rule.positive, *rule.none)}
        refs = {r.name: self._ref(r.terms, r.exclude) for r in watchlist.refs if r.name in used}
        for rule in watchlist.rules:
            required = tuple(
                refs[name] for name in rule.all if not self.index.refs[refs[name]].regex
            )
            any_of = frozenset(refs[name] for name in rule.any)
            if any(self.index.refs[rid].regex for rid in any_of):
                any_of = frozenset()
            filters = bool(watchlist.languages or watchlist.feeds or rule.languages or rule.feeds)
            weights = dict(rule.weights)
            compiled = CompiledRule(watchlist, rule, refs, required, any_of, weights, filters)
            self.index.rules.append(compiled)

    def finish(self) -> None:
        self._file_rules()
        self._choose_anchors()
        index = self.index
        for code in index.languages:
            specs = [_spec(compiled, code) for compiled in index.patterns]
            index.lexicons[code] = Lexicon(specs, index.stemmers[code].stem_word)
        required = [rule.required for rule in index.rules]
        any_of = [rule.any_of for rule in index.rules]
        index.wakeup = Wakeup(
            index.pattern_refs, index.rules_by_ref, required, any_of, index.always, len(index.refs)
        )
        index.plans = [None] * len(index.rules)

    def _ref(self, terms: tuple[Term, ...], exclude: tuple[Term, ...]) -> int:
        pids = tuple((self._pattern(term.pattern), term) for term in terms)
        slots: dict[int, list[int]] = {}
        for i, (pid, term) in enumerate(pids):
            slots.setdefault(-1 if term.pattern.regex is not None else pid, []).append(i)
        ref = CompiledRef(
            pids,
            tuple(self._pattern(term.pattern) for term in exclude),
            tuple(term.source for term in exclude),
            {pid: tuple(places) for pid, places in slots.items()},
        )
        rid = self.ref_ids.get(ref)
        if rid is None:
            rid = self.ref_ids[ref] = len(self.index.refs)
            self.index.refs.append(ref)
            for pid in dict.fromkeys([*(pid for pid, _ in ref.terms), *ref.exclude]):
                self.index.pattern_refs[pid].append(rid)
        return rid

    def _pattern(self, pattern: Pattern) -> int:
        pid = self.pattern_ids.get(pattern)
        if pid is None:
            pid = self.pattern_ids[pattern] = len(self.index.patterns)
            self.index.patterns.append(self._compiled(pattern))
            self.index.pattern_refs.append([])
        return pid

    def _compiled(self, pattern: Pattern) -> CompiledPattern:
        if pattern.regex is not None:
            regex = compile_regex(pattern.regex, pattern.match_case)
            return CompiledPattern(pattern, (), 0, regex)
        words = tuple(self._word(word, pattern.match_case) for word in pattern.words)
        return CompiledPattern(pattern, words, 0)  # the anchor is chosen when all are known

    def _word(self, word: Word, match_case: bool) -> CompiledWord:
        compiled = self.words.get((word, match_case))
        if compiled is None:
            compiled = self.words[word, match_case] = self._new_word(word, match_case)
        return compiled

    def _new_word(self, word: Word, match_case: bool) -> CompiledWord:
        if len(word.text) <= SHORTEST_STEMMED and word.kind == "stem":
            word = Word(word.text, "exact")
        if word.kind != "stem":
            return CompiledWord(word, {}, match_case)
        stems = {code: stems.one(word.text) for code, stems in self.index.stemmers.items()}
        return CompiledWord(word, stems, match_case)

    def _choose_anchors(self) -> None:
        """Anchor each term on its rarest word in real text ("amnesty", not
        "international"), counting every word its key begins; then the word fewer
        terms share; then the longest key."""
        patterns, languages = self.index.patterns, self.index.languages
        shared = Counter(word for compiled in patterns for word in set(compiled.words))

        def rarity(word: CompiledWord) -> tuple[int, int, int]:
            keys = word.keys()
            # A stem finds every word it begins ("peopl": people, peoples).
            if word.word.kind == "exact":
                common = commonness(word.lower, languages)
            else:
                stems = word.stems.values() if word.stems else [word.lower]
                common = max(commonness(stem, languages, prefix=True) for stem in stems)
            return -common, -shared[word], min(map(len, keys))

        for pid, compiled in enumerate(patterns):
            if compiled.words:
                anchor = max(range(len(compiled.words)), key=lambda i: rarity(compiled.words[i]))
                whole = compiled.pattern.near is None and _one_stream(compiled.words)
                others = [w for i, w in enumerate(compiled.words) if i != anchor]
                needs = {code: _needs(others, code) for code in languages}
                patterns[pid] = replace(compiled, anchor=anchor, whole=whole, needs=needs)

    def _file_rules(self) -> None:
        """File each rule under its rarest required ref (any ref when none is required)."""
        index = self.index
        usage = Counter(rid for c in index.rules for rid in map(c.refs.get, c.rule.positive))
        for rule_id, compiled in enumerate(index.rules):
            rule, refs = compiled.rule, compiled.refs
            findable = [refs[name] for name in rule.all if not index.refs[refs[name]].regex]
            if findable:
                under = [min(findable, key=lambda rid: usage[rid])]
            else:
                under = [refs[name] for name in rule.any]
                if rule.all or any(index.refs[rid].regex for rid in under):
                    index.always.append(rule_id)
                    continue
            for rid in under:
                index.rules_by_ref.setdefault(rid, []).append(rule_id)


def _spec(compiled: CompiledPattern, code: str) -> PatternSpec | None:
    """What monitor.match._scan looks for, in language ``code``."""
    if compiled.regex is not None:
        return None
    words = tuple(
        (w.word.kind, w.stems[code] if w.word.kind == "stem" else w.lower, w.word.text)
        for w in compiled.words
    )
    stems, written = compiled.needs[code]
    needs = (*(("stem", s) for s in sorted(stems)), *(("exact", w) for w in sorted(written)))
    near = compiled.pattern.near
    whole, match_case = compiled.whole, compiled.pattern.match_case
    return compiled.anchor, -1 if near is None else near, whole, match_case, words, needs


def _needs(words: list[CompiledWord], code: str) -> tuple[frozenset[str], frozenset[str]]:
    stems = frozenset(w.stems[code] for w in words if w.word.kind == "stem")
    written = frozenset(w.lower for w in words if w.word.kind == "exact")
    return stems, written


def _one_stream(words: tuple[CompiledWord, ...]) -> bool:
    """Whether one key can find the words side by side: all stems, or all as written
    (the last may be a prefix)."""
    kinds = [word.word.kind for word in words]
    return all(k == "stem" for k in kinds) or (
        all(k == "exact" for k in kinds[:-1]) and (kinds[-1] != "stem")
    )


def _sequence_keys(words: tuple[CompiledWord, ...]) -> Keys:
    """Keys for words side by side, all in one stream (see ``_one_stream``)."""
    if words[0].word.kind == "stem":
        by_key: dict[str, set[str]] = {}
        for code in words[0].stems:
            stems = STEM_SEP.join(word.stems[code] for word in words)
            by_key.setdefault(f"{STEM_SEP}{stems}{STEM_SEP}", set()).add(code)
        if len(by_key) == 1:
            return {next(iter(by_key)): None}
        return {key: frozenset(codes) for key, codes in by_key.items()}
    text = " ".join(word.lower for word in words)
    return {f" {text}" if words[-1].word.kind == "prefix" else f" {text} ": None}
