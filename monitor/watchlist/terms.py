"""The term syntax, parsed into Patterns. Pure; errors are ValueErrors with a reason.

troop deployment         words, stemmed; in concepts any order within NEAR/n
                         (the watchlist's ``near``), in actors side by side
troop deployment NEAR/3  at most 3 other words in the stretch they cover
"boots on the ground"    exactly these words, in this order, side by side
deploy*                  any word starting with "deploy"
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from monitor.match.regex import compile_regex
from monitor.match.values import Pattern, Term, Word
from monitor.text.fold import fold_words
from monitor.watchlist.spec import TermSpec

_NEAR = re.compile(r"\s+NEAR/(\d+)\s*$")
MIN_PREFIX = 3
MAX_WORDS = 20
# Hundreds of watchlists name the same actors: "Russia" written in 500 files is
# parsed once and its Term shared (Terms are frozen), which keeps a worker with
# 10,000 rules some 80 MB smaller. Bounded, so edits over months cannot grow it.
TERM_CACHE = 100_000


def parse_term(spec: TermSpec, near: int | None, stem: bool = True) -> Term:
    """The defaults depend on the section: names (actors) are side by side (``near``
    None) and as written (``stem`` False); concepts are stemmed, within ``near``."""
    if isinstance(spec, str):
        return _term(spec, None, 1.0, False, None, None, near, stem)
    return _term(spec.term, spec.regex, spec.weight, spec.case, spec.stem, spec.near, near, stem)


@lru_cache(maxsize=TERM_CACHE)
def _term(
    text: str | None,
    regex: str | None,
    weight: float,
    case: bool,
    stem_option: bool | None,
    near_option: int | Literal["phrase"] | None,
    near: int | None,
    stem: bool,
) -> Term:
    if regex is not None:
        return Term(regex, _regex(regex, case), weight)
    text = text or ""
    default = None if near_option == "phrase" else near_option if near_option is not None else near
    stemmed = (stem if stem_option is None else stem_option) and not case
    pattern = _pattern(text, default, stem=stemmed, match_case=case)
    return Term(text, pattern, weight)


def _pattern(text: str, near: int | None, stem: bool, match_case: bool) -> Pattern:
    found = _NEAR.search(text)
    if found:
        text, near = text[: found.start()], int(found[1])
        if near > 50:
            raise ValueError("NEAR/n takes at most 50")
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        if found:
            raise ValueError("a quoted phrase is exact: NEAR does not apply")
        words = tuple(Word(w, "exact") for w in fold_words(text[1:-1], match_case))
        return _checked(Pattern(words, None, match_case), text)
    if '"' in text:
        raise ValueError('quote the whole term ("like this") for an exact phrase')
    words = tuple(w for raw in text.split() for w in _words(raw, stem, match_case))
    return _checked(Pattern(words, near if len(words) > 1 else None, match_case), text)


def _words(raw: str, stem: bool, match_case: bool) -> list[Word]:
    wildcard = raw.endswith("*")
    if "*" in raw.rstrip("*") or raw.endswith("**"):
        raise ValueError(f"'{raw}': a wildcard * goes only at the end of a word")
    folded = fold_words(raw.rstrip("*"), match_case)
    if not wildcard:
        return [Word(w, "stem" if stem else "exact") for w in folded]
    if not folded or len(folded[-1]) < MIN_PREFIX:
        raise ValueError(f"'{raw}': a wildcard needs at least {MIN_PREFIX} letters before *")
    last = Word(folded[-1], "prefix")
    return [*(Word(w, "stem" if stem else "exact") for w in folded[:-1]), last]


def _checked(pattern: Pattern, text: str) -> Pattern:
    if not pattern.words:
        raise ValueError(f"'{text}' has no letters or digits to match")
    if len(pattern.words) > MAX_WORDS:
        raise ValueError(f"a term has at most {MAX_WORDS} words")
    return pattern


def _regex(regex: str, case: bool) -> Pattern:
    compile_regex(regex, case)  # a ValueError saying why RE2 cannot run it
    return Pattern((), None, case, regex)
