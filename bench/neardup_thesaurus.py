"""A second spinner family: a crude thesaurus spinner of the kind content farms run.

Written apart from bench/neardup_data.spin (and from monitor/near) so that the
evaluation does not only test the spinner the detector was tuned on. Unlike that one it
spins everything WordNet knows, the way real spinners do: capitalised words and names
("London" -> "Jack London", "India" -> "Bharat"), collocations of two or three words
("Security Council" -> one of its synonyms), verbs like "said", and the headline; its
synonyms may be several words long ("big" -> "large-scale", "firm" -> "business firm").
It picks a sense without looking at the context, as they do, and inflects crudely.

WordNet (Debian's ``wordnet-base``) is read at run time from its index files, which list
a lemma's senses most frequent first, and its data files, which hold each sense's lemmas.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

WORDNET = Path("/usr/share/wordnet")
PARTS = ("noun", "verb", "adj", "adv")
LONGEST = 3  # words in the longest collocation looked up
SENSES = 3  # a spinner offers the synonyms of a lemma's first few senses, any of them
# Words no thesaurus spinner replaces: WordNet knows them only as letters, units or
# abbreviations ("a" -> "vitamin A", "in" -> "Indiana", "it" -> "information technology").
KEEP = frozenset(
    """a an the and or but if of in on at to by as is it be am are was were has had have
    do does did not no so he she we they i me us you him her his its our their this that
    these those who which what for from with than then there here will would can""".split()  # noqa: SIM905
)
WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
LEMMA_SHAPE = re.compile(r"[A-Za-z][A-Za-z .'-]*")
# (ending, what replaces it for the base form, ending put back on a synonym)
ENDINGS = (
    ("ies", "y", "s"),
    ("es", "", "s"),
    ("s", "", "s"),
    ("ed", "e", "ed"),
    ("ed", "", "ed"),
    ("ing", "e", "ing"),
    ("ing", "", "ing"),
)


@dataclass(frozen=True)
class WordNet:
    """lemma (lower case, words joined by "_") -> its synonyms, most frequent sense first."""

    synonyms: Mapping[str, tuple[str, ...]]
    bases: Mapping[str, str]  # irregular form -> base ("said" -> "say")

    @classmethod
    def load(cls, root: Path = WORDNET) -> WordNet:
        if not (root / "index.noun").is_file():
            raise FileNotFoundError(f"WordNet not in {root}: apt-get install wordnet-base")
        table: dict[str, list[str]] = {}
        bases: dict[str, str] = {}
        for part in PARTS:
            senses = dict(_data_lines(root / f"data.{part}"))
            for lemma, offsets in _index_lines(root / f"index.{part}"):
                found = table.setdefault(lemma, [])
                for offset in offsets[:SENSES]:
                    found.extend(w for w in senses[offset] if _usable(w, lemma, found))
            for line in (root / f"{part}.exc").read_text().splitlines():
                form, base, *_ = line.split()
                bases.setdefault(form, base)
        synonyms = {lemma: tuple(words) for lemma, words in table.items() if words}
        return cls(MappingProxyType(synonyms), MappingProxyType(bases))


def _usable(word: str, lemma: str, found: list[str]) -> bool:
    text = word.replace("_", " ")
    return (
        text.lower().replace(" ", "_") != lemma
        and text not in found
        and bool(LEMMA_SHAPE.fullmatch(text))
    )


def _index_lines(path: Path) -> Iterator[tuple[str, list[str]]]:
    # lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offset...
    for line in path.read_text().splitlines():
        if line.startswith(" "):
            continue
        fields = line.split()
        count = int(fields[2])
        yield fields[0], fields[-count:]


def _data_lines(path: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    # offset lex_filenum ss_type w_cnt (hex) word lex_id word lex_id ...
    for line in path.read_text().splitlines():
        if line.startswith(" "):
            continue
        fields = line.split()
        count = int(fields[3], 16)
        words = fields[4 : 4 + 2 * count : 2]
        yield fields[0], tuple(re.sub(r"\(.*\)$", "", w).replace("_", " ") for w in words)


@dataclass(frozen=True)
class Swap:
    """Words ``start``..``end`` (token indexes) of a part, and what replaces them."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Option:
    """Words ``start``..``end`` of a part that WordNet knows, as (lemma, ending) pairs:
    the words as written and their base forms ("said": "said", and "say" + "ed")."""

    start: int
    end: int
    lemmas: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Spun:
    parts: tuple[str, ...]  # the title, then the paragraphs
    rate: float  # share of the words replaced


def spin_all(parts: Sequence[str], rate: float, rng: random.Random, wordnet: WordNet) -> Spun:
    """``parts`` with about ``rate`` of all their words replaced by a synonym of their
    word or of the collocation they start; the rate reached is kept."""
    tokens = [list(WORD.finditer(part)) for part in parts]
    total = sum(len(t) for t in tokens)
    options = [(i, o) for i, found in enumerate(tokens) for o in _options(found, wordnet)]
    rng.shuffle(options)
    taken: dict[int, list[Swap]] = {}
    used: set[tuple[int, int]] = set()
    replaced = 0
    for i, option in options:
        if replaced >= rate * total:
            break
        span = {(i, k) for k in range(option.start, option.end)}
        if span & used:
            continue
        used |= span
        text = rng.choice(_choices(option, tokens[i], wordnet))
        taken.setdefault(i, []).append(Swap(option.start, option.end, text))
        replaced += option.end - option.start
    new = tuple(_apply(part, tokens[i], taken.get(i, [])) for i, part in enumerate(parts))
    return Spun(new, replaced / total if total else 0.0)


def _options(tokens: Sequence[re.Match[str]], wordnet: WordNet) -> Iterator[Option]:
    """Every word or collocation (of up to LONGEST adjacent words, longest first)
    WordNet has synonyms for."""
    for start in range(len(tokens)):
        for length in range(LONGEST, 0, -1):
            end = start + length
            if end > len(tokens) or not _adjacent(tokens[start:end]):
                continue
            words = [t.group().lower() for t in tokens[start:end]]
            if length == 1 and words[0] in KEEP:
                continue
            found = _lookup("_".join(words), wordnet)
            if found:
                yield Option(start, end, found)
                break


def _adjacent(tokens: Sequence[re.Match[str]]) -> bool:
    text = tokens[0].string
    return all(text[a.end() : b.start()] == " " for a, b in itertools.pairwise(tokens))


def _lookup(word: str, wordnet: WordNet) -> tuple[tuple[str, str], ...]:
    """(lemma, ending) for the word as written and for its crude base forms."""
    found = [(word, "")] if word in wordnet.synonyms else []
    base = wordnet.bases.get(word)
    if base is not None and base in wordnet.synonyms:
        found.append((base, "s" if word.endswith("s") else "ed"))
    for ending, back, added in ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            stem = word[: -len(ending)] + back
            if stem in wordnet.synonyms:
                found.append((stem, added))
                break
    return tuple(found)


def _choices(option: Option, tokens: Sequence[re.Match[str]], wordnet: WordNet) -> list[str]:
    original = " ".join(t.group() for t in tokens[option.start : option.end])
    return [
        _shape(synonym, ending, original)
        for lemma, ending in option.lemmas
        for synonym in wordnet.synonyms[lemma]
    ]


def _shape(synonym: str, ending: str, original: str) -> str:
    """The synonym with the original's ending glued on (crudely, as spinners do) and
    its capitals: a capital first letter, or every word capitalised for a title."""
    if ending in ("ed", "d"):
        synonym += "d" if synonym.endswith("e") else "ed"
    elif ending == "ing":
        synonym = (synonym[:-1] if synonym.endswith("e") else synonym) + "ing"
    elif ending:
        synonym += "e" + ending if ending == "s" and synonym.endswith(("s", "x", "ch")) else ending
    if original.isupper() and len(original) > 1:
        return synonym.upper()
    if original[:1].isupper():
        if all(w[:1].isupper() for w in original.split()) and " " in original:
            return " ".join(w[:1].upper() + w[1:] for w in synonym.split())
        return synonym[:1].upper() + synonym[1:]
    return synonym


def _apply(part: str, tokens: Sequence[re.Match[str]], swaps: Sequence[Swap]) -> str:
    out, at = [], 0
    for swap in sorted(swaps, key=lambda s: s.start):
        out.append(part[at : tokens[swap.start].start()])
        out.append(swap.text)
        at = tokens[swap.end - 1].end()
    out.append(part[at:])
    return "".join(out)


def retitle(lead: str) -> str:
    """An aggregator's new headline: the lead's first clause, at most ten words."""
    clause = re.split(r"[,;:.]", lead, maxsplit=1)[0]
    words = clause.split()[:10]
    return " ".join(words).rstrip(" -") if words else lead[:60]


def cut(title: str, paragraphs: Sequence[str], rng: random.Random) -> tuple[str, tuple[str, ...]]:
    """One non-lead paragraph dropped (when there are three or more), and a new
    headline made from the (already spun) lead."""
    body = list(paragraphs)
    if len(body) >= 3:
        del body[rng.randrange(1, len(body))]
    return (retitle(body[0]) if body else title), tuple(body)
