"""Check the semantic evaluation set against its own rules and print its counts.

    python bench/semantic/check_cases.py [--markdown]

A throwaway-simple checker, on purpose: plain Python and PyYAML, nothing from
`monitor`, so it cannot be influenced by any engine. Its term test imitates the
keyword matcher generously (lower case, accents folded, hyphens and punctuation
ignored, simple suffixes stripped, multi-word terms in any order within `near`
other words, `prefix*`, exact "quoted phrases"), so that a case it finds free of
the concept's terms is one the keyword matcher would miss too.

Exit status 1 and a list of problems if any rule is broken.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
KINDS = {
    "positive": {
        "literal",
        "paraphrase",
        "passive",
        "nominal",
        "tense",
        "headline",
        "spun",
        "buried",
    },
    "trap": {"collision", "opposite", "denied"},
    "negative": {"other"},
}
FIELDS = ("id", "concept", "label", "kind", "split", "text")
MIN_CONCEPTS = 14
MIN_CASES = 480
MIN_PER_LABEL = {"positive": 18, "trap": 6, "negative": 5}
MIN_WITHOUT_TERMS = 0.60
WORDS = (15, 60)
HEADLINE_WORDS = (6, 30)
NEAR_DUPLICATE = 0.5  # Jaccard similarity of two cases' word sets
# Longest first; what is left must keep three letters.
SUFFIXES = (
    "ations",
    "ation",
    "ments",
    "ment",
    "ions",
    "ion",
    "ancies",
    "ancy",
    "ings",
    "ing",
    "ies",
    "ied",
    "ers",
    "er",
    "es",
    "ed",
    "ant",
    "ly",
    "s",
)
NEAR_RE = re.compile(r"\s+NEAR/(\d+)\s*$")


def fold(text: str) -> list[str]:
    """Lower case, accents and apostrophe-s removed, split on anything not a letter or digit."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"'s\b", "", text)
    return re.findall(r"[a-z0-9]+", text)


def stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                word += "y"
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word


@dataclass(frozen=True)
class Term:
    source: str
    words: tuple[str, ...]  # a word ending in * is a prefix
    near: int | None  # None: exact phrase

    def word_hits(self, word: str, token: str) -> bool:
        if word.endswith("*"):
            return token.startswith(word[:-1])
        if self.near is None:
            return token == word
        return stem(token) == stem(word)

    def found_in(self, tokens: list[str]) -> bool:
        places = [[i for i, t in enumerate(tokens) if self.word_hits(w, t)] for w in self.words]
        if any(not p for p in places):
            return False
        if self.near is None:
            n = len(self.words)
            return any(tokens[i : i + n] == list(self.words) for i in range(len(tokens) - n + 1))
        span = len(self.words) - 1 + self.near
        return any(
            _fits(places[1:], {start}, start, start, span)
            for start in places[0]  # each first-word place, then the rest in any order
        )

    def shares_a_word(self, tokens: list[str]) -> bool:
        return any(self.word_hits(w, t) for w in self.words for t in tokens)


def _fits(rest: list[list[int]], used: set[int], low: int, high: int, span: int) -> bool:
    if not rest:
        return True
    for place in rest[0]:
        if place in used:
            continue
        lo, hi = min(low, place), max(high, place)
        if hi - lo <= span and _fits(rest[1:], used | {place}, lo, hi, span):
            return True
    return False


def parse_term(text: str, near: int) -> Term:
    found = NEAR_RE.search(text)
    if found:
        text, near = text[: found.start()], int(found[1])
    text = text.strip()
    if text.startswith('"') and text.endswith('"'):
        return Term(text, tuple(fold(text[1:-1])), None)
    return Term(text, tuple(_term_words(text)), near)


def _term_words(text: str) -> list[str]:
    out = []
    for raw in text.split():
        folded = fold(raw)
        if raw.endswith("*") and folded:
            folded[-1] += "*"
        out.extend(folded)
    return out


def load_concepts(path: Path) -> tuple[dict[str, list[Term]], list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    near = int(data.get("near", 5))
    concepts: dict[str, list[Term]] = {}
    problems = []
    for name, spec in data["concepts"].items():
        raw = spec["terms"] if isinstance(spec, dict) else spec
        terms = [parse_term(t if isinstance(t, str) else t["term"], near) for t in raw]
        if not 2 <= len(terms) <= 5:
            problems.append(f"concept {name}: {len(terms)} terms, expected 2 to 5")
        concepts[name] = terms
    if len(concepts) < MIN_CONCEPTS:
        problems.append(f"{len(concepts)} concepts, expected at least {MIN_CONCEPTS}")
    return concepts, problems


def load_cases(path: Path, problems: list[str]) -> list[dict[str, str]]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            problems.append(f"line {number}: empty")
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        if tuple(case) != FIELDS:
            problems.append(f"line {number}: fields {tuple(case)}, expected {FIELDS}")
            continue
        cases.append(case)
    return cases


def check_case(case: dict[str, str], concepts: dict[str, list[Term]], problems: list[str]) -> None:
    cid, label, kind = case["id"], case["label"], case["kind"]
    if case["concept"] not in concepts:
        problems.append(f"{cid}: unknown concept {case['concept']!r}")
        return
    if kind not in KINDS.get(label, set()):
        problems.append(f"{cid}: kind {kind!r} is not one of label {label!r}")
    if case["split"] not in ("tune", "heldout"):
        problems.append(f"{cid}: split {case['split']!r}")
    low, high = HEADLINE_WORDS if kind == "headline" else WORDS
    count = len(case["text"].split())
    if not low <= count <= high:
        problems.append(f"{cid}: {count} words, expected {low} to {high}")
    terms = concepts[case["concept"]]
    tokens = fold(case["text"])
    has_term = any(t.found_in(tokens) for t in terms)
    if kind == "literal" and not has_term:
        problems.append(f"{cid}: literal positive without any listed term")
    if kind in ("paraphrase", "spun") and has_term:
        problems.append(f"{cid}: {kind} positive contains a listed term")
    if label == "negative" and has_term:
        problems.append(f"{cid}: negative contains a listed term (make it a trap)")
    if kind == "collision" and not any(t.shares_a_word(tokens) for t in terms):
        problems.append(f"{cid}: collision trap shares no word with the concept's terms")


def check_splits(cases: list[dict[str, str]], problems: list[str]) -> None:
    """Within each concept and label, in file order: tune, heldout, tune, heldout..."""
    seen: Counter[tuple[str, str]] = Counter()
    for case in cases:
        key = (case["concept"], case["label"])
        expected = "tune" if seen[key] % 2 == 0 else "heldout"
        seen[key] += 1
        if case["split"] != expected:
            problems.append(f"{case['id']}: split {case['split']}, alternation expects {expected}")


def check_ids(cases: list[dict[str, str]], problems: list[str]) -> None:
    for number, case in enumerate(cases, 1):
        if case["id"] != f"c{number:04d}":
            problems.append(f"line {number}: id {case['id']}, expected c{number:04d}")


def check_near_duplicates(cases: list[dict[str, str]], problems: list[str]) -> None:
    sets = [(c["id"], set(fold(c["text"]))) for c in cases]
    for (a, wa), (b, wb) in combinations(sets, 2):
        if len(wa & wb) / len(wa | wb) >= NEAR_DUPLICATE:
            problems.append(f"{a} and {b}: near-identical texts")
    texts = Counter(c["text"].strip().lower() for c in cases)
    problems.extend(f"duplicate text: {t[:60]}" for t, n in texts.items() if n > 1)


def table(cases: list[dict[str, str]], concepts: dict[str, list[Term]]) -> list[dict[str, object]]:
    rows: dict[str, dict[str, int]] = defaultdict(Counter)
    for case in cases:
        row = rows[case["concept"]]
        row[case["label"]] += 1
        row[case["split"]] += 1
        terms = concepts[case["concept"]]
        has_term = any(t.found_in(fold(case["text"])) for t in terms)
        if case["label"] == "positive":
            row["free"] += not has_term
        if case["label"] == "trap":
            row["trap_terms"] += has_term
        if case["kind"] == "denied":
            row["denied"] += 1
    return [{"concept": name, **rows[name]} for name in concepts if name in rows]


def main() -> int:
    problems: list[str] = []
    concepts, concept_problems = load_concepts(HERE / "concepts.yaml")
    problems.extend(concept_problems)
    cases = load_cases(HERE / "cases.jsonl", problems)
    for case in cases:
        check_case(case, concepts, problems)
    check_ids(cases, problems)
    check_splits([c for c in cases if c["concept"] in concepts], problems)
    check_near_duplicates(cases, problems)
    rows = table([c for c in cases if c["concept"] in concepts], concepts)
    for row in rows:
        positives = int(str(row.get("positive", 0)))
        for label, least in MIN_PER_LABEL.items():
            if int(str(row.get(label, 0))) < least:
                problems.append(f"concept {row['concept']}: fewer than {least} {label} cases")
        if positives and int(str(row.get("free", 0))) / positives < MIN_WITHOUT_TERMS:
            problems.append(f"concept {row['concept']}: under 60 % of positives without terms")
    missing = [name for name in concepts if name not in {r["concept"] for r in rows}]
    problems.extend(f"concept {name}: no cases" for name in missing)
    if len(cases) < MIN_CASES:
        problems.append(f"{len(cases)} cases, expected at least {MIN_CASES}")
    print_table(rows, markdown="--markdown" in sys.argv)
    if problems:
        print(f"\n{len(problems)} problems:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"\nok: {len(cases)} cases, {len(rows)} concepts")
    return 0


def print_table(rows: list[dict[str, object]], markdown: bool) -> None:
    columns = ("positive", "free", "trap", "trap_terms", "denied", "negative", "tune", "heldout")
    totals: Counter[str] = Counter()
    lines: list[tuple[str, list[int]]] = []
    for row in rows:
        values = [int(str(row.get(c, 0))) for c in columns]
        totals.update(dict(zip(columns, values, strict=True)))
        lines.append((str(row["concept"]), values))
    lines.append(("total", [totals[c] for c in columns]))
    header = ["concept", "positives", "without terms", "traps", "with terms", "denied"]
    header += ["negatives", "tune", "heldout", "% without terms"]
    out = []
    for concept, values in lines:
        share = f"{100 * values[1] / max(values[0], 1):.0f} %"
        out.append([concept, *map(str, values), share])
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" + "---:|" * (len(header) - 1))
        for line in out:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(h), *(len(r[i]) for r in out)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for line in out:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
