"""Evaluation data of the near-duplicate benchmark: BBC articles and copies of them
made the way copies turn up in news feeds (verbatim, syndicated with boilerplate, new
headline, edited reprint, truncated to the lead, synonym-spun by a content farm).

The articles and WordNet are read at run time (nothing is copied into the project) and
every copy is built from a seed, so a data set is the same on every run. The ground
truth accounts for the BBC set's own duplicates: sources whose bodies are (nearly) the
same story are one truth cluster, or a detector that finds them would be penalised.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

SHARED = (Path(__file__).resolve().parents[2] / "shared" / "data").resolve()
BBC = SHARED / "bbc"
WORDNET = Path("/usr/share/wordnet")

START = datetime(2005, 1, 1, tzinfo=UTC)  # the BBC set is from 2004-2005
SPREAD = timedelta(days=60)  # originals are spread evenly over this span
COPY_DELAY = (timedelta(minutes=5), timedelta(days=2))  # a copy follows its original
SHINGLE = 5  # words per shingle when grouping the BBC's own duplicates
CONTAINMENT = 0.8  # shingles of the shorter body found in the longer one
RELATED = 0.5  # below CONTAINMENT, from here: the same developing story, rewritten
COMMON_SHINGLE = 50  # shingles in more bodies than this do not propose candidates

# Words a spinner leaves alone: function words, auxiliaries, number words. Replacing
# them makes nonsense that no content farm publishes, and number words have digit
# "synonyms" in WordNet ("two" -> "2", "II"). Kept as text and split: a list literal
# of 200 words would be 200 lines.
STOPWORDS = frozenset(
    """a about above across after again against ago all almost along already also
    although always am among an and another any anyone anything are around as at away
    back be became because become been before being below between both but by can
    cannot could did do does doing done down during each either else enough even ever
    every few for from further get gets getting got had has have having he her here hers
    herself him himself his how however i if in including into is it its itself just
    last least less let like made make makes many may me might more most much must my
    myself near neither never next no nor not now of off often on once only onto or
    other others our ours ourselves out over own per perhaps rather really same say says
    said see seen shall she should since so some something still such than that the
    their theirs them themselves then there these they this those though through thus
    to too toward towards under until up upon us very via was we well were what whatever
    when where whether which while who whom whose why will with within without would yet
    you your yours yourself yourselves mr mrs ms dr st
    zero one two three four five six seven eight nine ten eleven twelve thirteen
    fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty
    seventy eighty ninety hundred thousand million billion trillion first second third
    fourth fifth sixth seventh eighth ninth tenth half dozen""".split()  # noqa: SIM905
)

# A word: ASCII letters with an optional apostrophe part ("firm's", "don't"), not
# glued to digits or other letters (so "bn" in "$1.13bn" and "s" in "1990s" are no words).
WORD = re.compile(r"(?<!\w)[A-Za-z]+(?:['’][A-Za-z]+)?(?!\w)")
SENTENCE_END = re.compile(r"""[.!?]["'’”)\]]*\s*["'‘“(\[]*$""")
SYNONYM_SHAPE = re.compile(r"[a-z]+(?:[ '-][a-z]+)*")
TOKEN = re.compile(r"[a-z0-9]+")


# ---------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """One BBC article as read: ``id`` is "category/NNN"."""

    id: str
    category: str
    title: str
    paragraphs: tuple[str, ...]


def read_bbc(root: Path = BBC) -> list[Source]:
    """The BBC articles in a fixed order (sorted paths). Most files are UTF-8, a few
    latin-1 (one "£" byte); paragraphs are the blocks between blank lines."""
    if not root.is_dir():
        raise FileNotFoundError(f"BBC articles not found at {root}")
    return [_read_source(path) for path in sorted(root.glob("*/*.txt"))]


def decode(raw: bytes) -> str:
    """A BBC file's text: most are UTF-8, a few latin-1 (one "£" byte)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_source(path: Path) -> Source:
    title, _, body = decode(path.read_bytes()).replace("\r\n", "\n").strip().partition("\n")
    paragraphs = tuple(p.strip() for p in re.split(r"\n\s*\n", body) if p.strip())
    category = path.parent.name
    return Source(f"{category}/{path.stem}", category, title.strip(), paragraphs)


# ---------------------------------------------------------------------------- thesaurus

POS = ("n", "v", "a", "r")
DATA_FILES = {"n": "data.noun", "v": "data.verb", "a": "data.adj", "r": "data.adv"}
EXC_FILES = {"n": "noun.exc", "v": "verb.exc", "a": "adj.exc", "r": "adv.exc"}
# Inflection classes a word may carry, with the parts of speech that carry them and
# the regular suffix rules that strip them (ending, replacement).
SUFFIX_RULES: Mapping[str, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]] = MappingProxyType(
    {
        "s": (
            (
                "n",
                (
                    ("ies", "y"),
                    ("ses", "s"),
                    ("xes", "x"),
                    ("ches", "ch"),
                    ("shes", "sh"),
                    ("s", ""),
                ),
            ),
            ("v", (("ies", "y"), ("es", "e"), ("es", ""), ("s", ""))),
        ),
        "ed": (("v", (("ied", "y"), ("ed", "e"), ("ed", ""))),),
        "ing": (("v", (("ing", "e"), ("ing", ""))),),
    }
)


@dataclass(frozen=True)
class Thesaurus:
    """Synonyms from WordNet: for a lower-case word, the other lemmas of its synsets.

    Inflected words are looked up by their base forms (the ``*.exc`` exception lists,
    then regular suffix stripping: plural nouns, verbs in -s/-ed/-ing) and the base-form
    synonyms are re-inflected crudely (regular rules, or the exception lists read
    backwards: "said" -> "say" -> "state" -> "stated"), so a spun text stays readable
    enough to pass for a content farm's. Lemmas WordNet spells with a capital (names:
    "Bush", "George W. Bush") or with digits are never offered as synonyms.
    """

    lemmas: Mapping[str, Mapping[str, tuple[str, ...]]]  # pos -> lemma -> synonyms
    exceptions: Mapping[str, Mapping[str, tuple[str, ...]]]  # pos -> inflected -> bases
    proper: frozenset[str]  # lower-cased one-word lemmas WordNet spells with a capital
    irregular: Mapping[tuple[str, str, str], str]  # (pos, base, class) -> inflected form
    # Answers already worked out: a build asks about the same words tens of thousands
    # of times. Private to this thesaurus, and only ever adds what synonyms() returns.
    _cache: dict[str, tuple[str, ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @classmethod
    def load(cls, root: Path = WORDNET) -> Thesaurus:
        """Read WordNet 3.0's data and exception files (Debian's ``wordnet-base``)."""
        missing = [name for name in DATA_FILES.values() if not (root / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"WordNet not found in {root} (missing {', '.join(missing)}): "
                "run `apt-get install wordnet-base`"
            )
        lemmas: dict[str, Mapping[str, tuple[str, ...]]] = {}
        proper: set[str] = set()
        for pos, name in DATA_FILES.items():
            synsets = list(_read_synsets(root / name))
            proper.update(w.lower() for s in synsets for w in s if " " not in w and w != w.lower())
            lemmas[pos] = MappingProxyType(_synonym_table(synsets))
        exceptions = {
            pos: MappingProxyType(_read_exceptions(root / name)) for pos, name in EXC_FILES.items()
        }
        return cls.of(lemmas, exceptions, frozenset(proper))

    @classmethod
    def from_dict(cls, synonyms: Mapping[str, Sequence[str]], pos: str = "n") -> Thesaurus:
        """A small thesaurus for tests: every word's synonyms given as they are."""
        table = {word: tuple(syns) for word, syns in synonyms.items()}
        empty: Mapping[str, tuple[str, ...]] = MappingProxyType({})
        lemmas = {p: MappingProxyType(table) if p == pos else empty for p in POS}
        return cls.of(lemmas, dict.fromkeys(POS, empty), frozenset())

    @classmethod
    def of(
        cls,
        lemmas: Mapping[str, Mapping[str, tuple[str, ...]]],
        exceptions: Mapping[str, Mapping[str, tuple[str, ...]]],
        proper: frozenset[str],
    ) -> Thesaurus:
        """A thesaurus with the exception lists also read backwards, once, so that
        re-inflecting a synonym is a look-up."""
        irregular: dict[tuple[str, str, str], str] = {}
        for pos, table in exceptions.items():
            for inflected in sorted(table):
                for base in table[inflected]:
                    irregular.setdefault((pos, base, _form_of(inflected, pos)), inflected)
        return cls(
            MappingProxyType(dict(lemmas)),
            MappingProxyType(dict(exceptions)),
            proper,
            MappingProxyType(irregular),
        )

    def synonyms(self, word: str) -> tuple[str, ...]:
        """Synonyms of a lower-case word, in WordNet's order (deterministic), without
        the word itself or its base form."""
        cached = self._cache.get(word)
        if cached is None:
            cached = self._cache[word] = self._look_up(word)
        return cached

    def _look_up(self, word: str) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for pos in POS:
            for syn in self.lemmas[pos].get(word, ()):
                found[syn] = None
        for pos, base, form in self._bases(word):
            for syn in self.lemmas[pos].get(base, ()):
                found[self._inflect(syn, pos, form)] = None
        bases = {base for _, base, _ in self._bases(word)}
        return tuple(s for s in found if s != word and s not in bases)

    def _bases(self, word: str) -> Iterator[tuple[str, str, str]]:
        """(part of speech, base form, inflection class) readings of an inflected word."""
        for pos in ("n", "v"):
            for base in self.exceptions[pos].get(word, ()):
                yield pos, base, _form_of(word, pos)
        for form, rules in SUFFIX_RULES.items():
            if not word.endswith(form) or len(word) <= len(form) + 2:
                continue
            for pos, strips in rules:
                for ending, replacement in strips:
                    if word.endswith(ending):
                        base = word[: len(word) - len(ending)] + replacement
                        if base in self.lemmas[pos]:
                            yield pos, base, form

    def _inflect(self, lemma: str, pos: str, form: str) -> str:
        """Crude re-inflection: the head word of a phrase (last for nouns, first for
        verbs) gets the form, irregular if the exception list knows one."""
        words = lemma.split(" ")
        head = len(words) - 1 if pos == "n" else 0
        if not words[head].endswith(form):  # "profits", "earnings" are lemmas already
            irregular = self.irregular.get((pos, words[head], form))
            words[head] = irregular or _regular(words[head], form)
        return " ".join(words)


def _form_of(word: str, pos: str) -> str:
    """The inflection class an inflected word looks like it carries (a noun in an
    exception list is a plural: "men", "criteria")."""
    if pos == "n":
        return "s"
    if word.endswith("ing"):
        return "ing"
    if word.endswith("s"):
        return "s"
    return "ed"


def _regular(word: str, form: str) -> str:
    if form == "ing":
        stem = word[:-1] if word.endswith("e") and not word.endswith("ee") else word
        return stem + "ing"
    consonant_y = word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou"
    if form == "s":
        if consonant_y:
            return word[:-1] + "ies"
        return word + ("es" if word.endswith(("s", "x", "z", "ch", "sh")) else "s")
    if consonant_y:
        return word[:-1] + "ied"
    return word + ("d" if word.endswith("e") else "ed")


def _read_synsets(path: Path) -> Iterator[tuple[str, ...]]:
    """Each synset's lemmas as spelt (underscores as spaces, adjective markers such as
    "(p)" dropped). A data line: offset, lex_filenum, ss_type, w_cnt (hex), then
    word/lex_id pairs (wndb(5)); license lines start with two spaces."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith("  "):
                continue
            fields = line.split()
            count = int(fields[3], 16)
            words = fields[4 : 4 + 2 * count : 2]
            yield tuple(re.sub(r"\([a-z]+\)$", "", w).replace("_", " ") for w in words)


def _synonym_table(synsets: Iterable[tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Lower-case lemma -> the other usable lemmas of all its synsets, in file order."""
    table: dict[str, dict[str, None]] = defaultdict(dict)
    for synset in synsets:
        usable = [w for w in synset if SYNONYM_SHAPE.fullmatch(w)]
        for word in synset:
            key = word.lower()
            for other in usable:
                if other != key:
                    table[key][other] = None
    return {word: tuple(syns) for word, syns in table.items() if syns}


def _read_exceptions(path: Path) -> dict[str, tuple[str, ...]]:
    if not path.is_file():
        return {}
    table: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        inflected, *bases = line.split()
        table[inflected] = tuple(b.replace("_", " ") for b in bases)
    return table


# ---------------------------------------------------------------------------- spinning


@dataclass(frozen=True)
class CopyText:
    """The title and paragraphs of a copy; ``spin_rate`` is the share of content words
    actually replaced (spin copies only)."""

    title: str
    paragraphs: tuple[str, ...]
    spin_rate: float | None = None


@dataclass(frozen=True)
class Slot:
    """A content word that may be replaced: which part (0 the title), where, and what."""

    part: int
    start: int
    end: int
    word: str


@dataclass(frozen=True)
class Spun:
    """Spun texts with the counts behind the rate (content words, words replaced)."""

    parts: tuple[str, ...]
    content_words: int
    replaced: int

    @property
    def rate(self) -> float:
        return self.replaced / self.content_words if self.content_words else 0.0


def content_slots(parts: Sequence[str], thesaurus: Thesaurus) -> list[Slot]:
    """The content words of a text: not stopwords, not names, not numbers (the word
    pattern has no digits). A capitalised word counts only when it starts a sentence,
    is not capitalised mid-sentence elsewhere in the text and WordNet knows it as no
    name ("Shares fell" yes, "Chelsea said" no); all-caps words are acronyms."""
    mid_capitals = {
        m.group().lower()
        for part in parts
        for m in WORD.finditer(part)
        if m.group()[0].isupper() and not _starts_sentence(part, m.start())
    }
    slots = []
    for index, part in enumerate(parts):
        for m in WORD.finditer(part):
            word, end = m.group(), m.end()
            if "'" in word or "’" in word:  # possessive: the stem; contractions: no
                stem, _, suffix = word.replace("’", "'").partition("'")
                if suffix.lower() != "s":
                    continue
                word, end = stem, m.start() + len(stem)
            lower = word.lower()
            if lower in STOPWORDS or len(word) < 3 or word.isupper():
                continue
            if word[0].isupper() and (
                not _starts_sentence(part, m.start())
                or lower in mid_capitals
                or lower in thesaurus.proper
            ):
                continue
            slots.append(Slot(index, m.start(), end, word))
    return slots


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start]
    return not before.strip(" \"'‘“(-") or bool(SENTENCE_END.search(before[-8:]))


def spin(parts: Sequence[str], rate: float, rng: random.Random, thesaurus: Thesaurus) -> Spun:
    """Replace ``rate`` of the content words with a synonym picked by ``rng``, keeping
    the replaced word's capitalisation. Words without synonyms cannot be replaced; when
    there are too few, all that can be are, and ``Spun.rate`` says what was reached."""
    slots = content_slots(parts, thesaurus)
    choices = [(slot, syns) for slot in slots if (syns := thesaurus.synonyms(slot.word.lower()))]
    wanted = min(round(rate * len(slots)), len(choices))
    picked = sorted(rng.sample(range(len(choices)), wanted))  # in text order
    edits = [
        (slot, _match_case(rng.choice(syns), slot.word))
        for slot, syns in map(choices.__getitem__, picked)
    ]
    return Spun(_apply(parts, edits), len(slots), wanted)


def _match_case(synonym: str, original: str) -> str:
    return synonym[0].upper() + synonym[1:] if original[0].isupper() else synonym


def _apply(parts: Sequence[str], edits: Sequence[tuple[Slot, str]]) -> tuple[str, ...]:
    """The parts with each slot's word replaced; edits in text order."""
    out = list(parts)
    for slot, new in reversed(edits):  # from the end, so earlier offsets stay valid
        text = out[slot.part]
        out[slot.part] = text[: slot.start] + new + text[slot.end :]
    return tuple(out)


# ---------------------------------------------------------------------------- transformations

Transform = Callable[[Source, random.Random, Thesaurus], CopyText]

AGENCIES = ("Reuters", "AP", "AFP", "Bloomberg", "PA")
DATELINE_CITIES = ("LONDON", "NEW YORK", "WASHINGTON", "BRUSSELS", "PARIS", "MANCHESTER")
HEADERS = (
    "Follow our live coverage for the latest updates.",
    "Follow our live coverage of this story as it develops.",
    "Read more: the latest {category} news and analysis.",
    "Advertisement",
    "Listen to this article",
)
FOOTERS = (
    "Comments are closed.",
    "© 2005 {agency}. All rights reserved.",
    "Sign up for our newsletter to get the day's top stories in your inbox.",
    "Share this article: Facebook | Twitter | Email",
    "Copyright 2005 {agency}. This material may not be published, broadcast, "
    "rewritten or redistributed.",
    "Read more: more {category} stories",
)
HEADLINE_PREFIXES = ("UPDATE 1-", "UPDATE 2-", "WRAPUP 1-", "Breaking: ", "ANALYSIS-")
HEADLINE_PIVOTS = frozenset(
    ("as", "after", "over", "amid", "despite", "in", "for", "with", "on", "at", "from", "against")
)


def exact(source: Source, rng: random.Random, thesaurus: Thesaurus) -> CopyText:
    """A verbatim copy: the easiest case, which any detector must get."""
    return CopyText(source.title, source.paragraphs)


def syndicated(source: Source, rng: random.Random, thesaurus: Thesaurus) -> CopyText:
    """The body as a syndicating site runs it: a dateline before the first paragraph,
    maybe a promotional line on top, one or two footer lines, maybe the agency after the
    title. The original body stays contained, word for word."""
    agency = rng.choice(AGENCIES)
    fill = {"agency": agency, "category": source.category}
    body = list(_with_dateline(source.paragraphs, rng, agency))
    if rng.random() < 0.5:
        body.insert(0, rng.choice(HEADERS).format(**fill))
    body += [f.format(**fill) for f in rng.sample(FOOTERS, rng.randint(1, 2))]
    title = f"{source.title} - {agency}" if rng.random() < 0.5 else source.title
    return CopyText(title, tuple(body))


def _with_dateline(
    paragraphs: tuple[str, ...], rng: random.Random, agency: str | None = None
) -> tuple[str, ...]:
    city = rng.choice(DATELINE_CITIES)
    dash = rng.choice(("-", "—"))
    dateline = f"{city} ({agency or rng.choice(AGENCIES)}) {dash} "
    return (dateline + paragraphs[0], *paragraphs[1:]) if paragraphs else paragraphs


def headline(source: Source, rng: random.Random, thesaurus: Thesaurus) -> CopyText:
    """A new headline on the same body (half of them with a dateline): what an agency
    update or a rival's rewrite of the same story looks like."""
    body = _with_dateline(source.paragraphs, rng) if rng.random() < 0.5 else source.paragraphs
    return CopyText(rewrite_headline(source.title, rng, thesaurus), body)


def rewrite_headline(title: str, rng: random.Random, thesaurus: Thesaurus) -> str:
    """One to three of, in this order: a synonym for a word, the clause after a
    preposition moved to the front ("Dollar gains on Greenspan speech" -> "On Greenspan
    speech, Dollar gains"), an agency prefix ("UPDATE 1-"), which stays in front. When
    neither of the first two applies, the prefix is used, so the title always changes."""
    steps = set(rng.sample(("synonym", "order", "prefix"), rng.randint(1, 3)))
    new = title
    if "synonym" in steps:
        new = _one_synonym(new, rng, thesaurus) or new
    if "order" in steps:
        new = _reorder(new, rng)
    if "prefix" in steps or new == title:
        new = rng.choice(HEADLINE_PREFIXES) + new
    return new


def _one_synonym(title: str, rng: random.Random, thesaurus: Thesaurus) -> str | None:
    """The title with one content word replaced by a synonym, if any has one."""
    slots = [s for s in content_slots((title,), thesaurus) if thesaurus.synonyms(s.word.lower())]
    if not slots:
        return None
    slot = rng.choice(slots)
    new = _match_case(rng.choice(thesaurus.synonyms(slot.word.lower())), slot.word)
    return title[: slot.start] + new + title[slot.end :]


def _reorder(title: str, rng: random.Random) -> str:
    words = title.split()
    pivots = [
        i
        for i, w in enumerate(words)
        if i > 0 and i < len(words) - 1 and w.lower() in HEADLINE_PIVOTS
    ]
    if not pivots:
        return title
    i = rng.choice(pivots)
    front = " ".join(words[i:])
    return f"{front[0].upper()}{front[1:]}, {' '.join(words[:i])}"


def edited(source: Source, rng: random.Random, thesaurus: Thesaurus) -> CopyText:
    """An edited reprint: a new headline, one non-lead paragraph dropped (of four or
    more), maybe two later paragraphs swapped, and a few words changed."""
    body = list(source.paragraphs)
    if len(body) >= 4:
        del body[rng.randrange(1, len(body))]
    if len(body) >= 4 and rng.random() < 0.5:
        i = rng.randrange(1, len(body) - 1)
        body[i], body[i + 1] = body[i + 1], body[i]
    body = list(_edit_words(tuple(body), rng.randint(2, 5), rng, thesaurus))
    return CopyText(rewrite_headline(source.title, rng, thesaurus), tuple(body))


def _edit_words(
    paragraphs: tuple[str, ...], count: int, rng: random.Random, thesaurus: Thesaurus
) -> tuple[str, ...]:
    """``count`` content words replaced by synonyms: a sub-editor's touch."""
    slots = content_slots(paragraphs, thesaurus)
    rate = min(1.0, count / len(slots)) if slots else 0.0
    return spin(paragraphs, rate, rng, thesaurus).parts


def lead(source: Source, rng: random.Random, thesaurus: Thesaurus) -> CopyText:
    """The lead only: the first two or three paragraphs, always fewer than the source
    has (a two-paragraph article keeps one), so the copy is a strict part of it."""
    keep = min(rng.choice((2, 3)), max(1, len(source.paragraphs) - 1))
    return CopyText(source.title, source.paragraphs[:keep])


def spinner(rate: float) -> Transform:
    """A content farm's copy: ``rate`` of the content words of the title and body
    replaced by WordNet synonyms; the rate reached is kept on the copy."""

    def spin_copy(source: Source, rng: random.Random, thesaurus: Thesaurus) -> CopyText:
        spun = spin((source.title, *source.paragraphs), rate, rng, thesaurus)
        return CopyText(spun.parts[0], spun.parts[1:], spun.rate)

    spin_copy.__doc__ = f"{rate:.0%} of the content words replaced by synonyms."
    return spin_copy


TRANSFORMS: Mapping[str, Transform] = MappingProxyType(
    {
        "exact": exact,
        "syndicated": syndicated,
        "headline": headline,
        "edited": edited,
        "lead": lead,
        "spin10": spinner(0.10),
        "spin30": spinner(0.30),
        "spin50": spinner(0.50),
    }
)
ALL: tuple[str, ...] = tuple(TRANSFORMS)
ORIGINAL = "original"


# ---------------------------------------------------------------------------- data set


@dataclass(frozen=True)
class Doc:
    """One article as the monitor would see it."""

    id: str
    title: str
    text: str  # paragraphs joined by a blank line
    published: datetime  # aware, UTC
    source_id: str
    transform: str  # ORIGINAL for the BBC article itself
    spin_rate: float | None  # reached, for spin copies


@dataclass(frozen=True)
class Dataset:
    """Docs in publication order, each doc's truth cluster (the smallest source id of
    its group) and the groups of BBC sources that are one story (two or more each).
    An original's doc id is its source id, so ``truth[source_id]`` is its cluster."""

    docs: tuple[Doc, ...]
    truth: Mapping[str, str]
    bbc_duplicate_groups: tuple[tuple[str, ...], ...]
    # Source pairs below the duplicate threshold but sharing half their text or more:
    # updates of a developing story ("Talks aim to avert pension strike", then
    # "Stalemate in pension strike talks"). Separate in the truth; a detector that
    # joins them makes a false merge that a reader might forgive.
    bbc_related_pairs: tuple[tuple[str, str], ...] = ()


def doc_id(source_id: str, transform: str) -> str:
    """The source id for an original ("business/001"), with "~transform" for a copy
    ("business/001~spin30"): stable across runs and readable in a report."""
    return source_id if transform == ORIGINAL else f"{source_id}~{transform}"


def build_dataset(
    sources: Sequence[Source],
    thesaurus: Thesaurus,
    seed: int = 1,
    transforms: Sequence[str] = ALL,
    copy_share: float = 1.0,
) -> Dataset:
    """Every source as an original, and one copy per transformation of each source (or
    of a seeded ``copy_share`` of them). Each copy has its own random stream, derived
    from the seed, the source and the transformation, so choosing other transformations
    or another share leaves the remaining copies as they were."""
    if not 0.0 <= copy_share <= 1.0:
        raise ValueError(f"copy_share must be between 0 and 1, not {copy_share}")
    unknown = [t for t in transforms if t not in TRANSFORMS]
    if unknown:
        raise ValueError(f"unknown transformations: {', '.join(unknown)}")
    rng = random.Random(seed)
    order = list(sources)
    rng.shuffle(order)
    step = SPREAD.total_seconds() / max(1, len(order))
    published = {s.id: START + timedelta(seconds=round(i * step)) for i, s in enumerate(order)}
    copied = rng.sample(order, round(copy_share * len(order)))
    docs = [_doc(s, s.title, s.paragraphs, published[s.id], ORIGINAL, None) for s in sources]
    for source in sorted(copied, key=lambda s: s.id):
        for name in transforms:
            docs.append(_copy(source, name, published[source.id], seed, thesaurus))
    near = overlaps(sources, RELATED)
    groups = _groups(sources, [o for o in near if o.containment >= CONTAINMENT])
    cluster = {s.id: s.id for s in sources}
    for group in groups:
        cluster.update((member, group[0]) for member in group)
    truth = {d.id: cluster[d.source_id] for d in docs}
    related = tuple((o.first, o.second) for o in near if cluster[o.first] != cluster[o.second])
    docs.sort(key=lambda d: (d.published, d.id))
    return Dataset(tuple(docs), MappingProxyType(truth), groups, related)


def _copy(source: Source, name: str, original: datetime, seed: int, thesaurus: Thesaurus) -> Doc:
    rng = random.Random(f"{seed}:{source.id}:{name}")
    low, high = (int(d.total_seconds()) for d in COPY_DELAY)
    published = original + timedelta(seconds=rng.randint(low, high))
    copy = TRANSFORMS[name](source, rng, thesaurus)
    return _doc(source, copy.title, copy.paragraphs, published, name, copy.spin_rate)


def _doc(
    source: Source,
    title: str,
    paragraphs: tuple[str, ...],
    published: datetime,
    transform: str,
    spin_rate: float | None,
) -> Doc:
    text = "\n\n".join(paragraphs)
    return Doc(
        doc_id(source.id, transform), title, text, published, source.id, transform, spin_rate
    )


# ---------------------------------------------------------------------------- BBC duplicates


def shingles(text: str, k: int = SHINGLE) -> frozenset[str]:
    """Word k-shingles of a normalised text (lower case, letters and digits only); a
    text shorter than k words is one shingle."""
    words = TOKEN.findall(text.lower())
    if len(words) <= k:
        return frozenset({" ".join(words)}) if words else frozenset()
    return frozenset(" ".join(words[i : i + k]) for i in range(len(words) - k + 1))


@dataclass(frozen=True)
class Overlap:
    """Two sources and the share of the shorter body's shingles found in the longer."""

    first: str
    second: str
    containment: float


def overlaps(sources: Sequence[Source], floor: float, k: int = SHINGLE) -> list[Overlap]:
    """Pairs of sources (ids in order) whose containment is ``floor`` or more, sorted
    by ids. Candidates come from an inverted index of the shingles, not from all pairs;
    a shingle in more than COMMON_SHINGLE bodies (a stock phrase) proposes none, which
    in practice loses nothing: bodies that share half their shingles share rare ones."""
    sets = [shingles("\n".join(s.paragraphs), k) for s in sources]
    index: dict[str, list[int]] = defaultdict(list)
    for i, shingle_set in enumerate(sets):
        for shingle in shingle_set:
            index[shingle].append(i)
    found = []
    for i, j in _candidates(sets, index):
        smaller = min(len(sets[i]), len(sets[j]))
        containment = len(sets[i] & sets[j]) / smaller if smaller else 0.0
        if containment >= floor:
            first, second = sorted((sources[i].id, sources[j].id))
            found.append(Overlap(first, second, containment))
    return sorted(found, key=lambda o: (o.first, o.second))


def duplicate_groups(
    sources: Sequence[Source], threshold: float = CONTAINMENT, k: int = SHINGLE
) -> tuple[tuple[str, ...], ...]:
    """Groups (two or more, sorted ids, sorted by first id) of sources whose bodies are
    the same story: ``threshold`` or more of the shorter body's word shingles occur in
    the longer one, directly or through a chain of such pairs."""
    return _groups(sources, overlaps(sources, threshold, k))


def _groups(sources: Sequence[Source], pairs: Iterable[Overlap]) -> tuple[tuple[str, ...], ...]:
    """The connected components of two or more sources that ``pairs`` link."""
    parent = {s.id: s.id for s in sources}
    for overlap in pairs:
        parent[_root(parent, overlap.first)] = _root(parent, overlap.second)
    members: dict[str, list[str]] = defaultdict(list)
    for source in sources:
        members[_root(parent, source.id)].append(source.id)
    return tuple(sorted(tuple(sorted(m)) for m in members.values() if len(m) > 1))


def _candidates(
    sets: Sequence[frozenset[str]], index: Mapping[str, list[int]]
) -> Iterator[tuple[int, int]]:
    for i, shingle_set in enumerate(sets):
        shared: Counter[int] = Counter()
        for shingle in shingle_set:
            postings = index[shingle]
            if len(postings) <= COMMON_SHINGLE:
                shared.update(j for j in postings if j > i)
        yield from ((i, j) for j in shared)


def _root(parent: dict[str, str], i: str) -> str:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i
