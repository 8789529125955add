"""Scores of a near-duplicate detector against the ground truth of bench/neardup_data.

Two partitions of the same docs are compared: ``truth`` and ``predicted`` map every doc
id to a cluster id (a doc alone in its cluster may be its own id). Everything is counted
from cluster sizes and the contingency table (how many docs each predicted cluster
shares with each truth cluster), never from lists of doc pairs, so a detector that puts
thousands of docs in one cluster is scored as fast as a good one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb

from bench.neardup_data import ALL, ORIGINAL, Doc
from bench.tables import Table

EXAMPLES = 10  # merged pairs kept for the report


@dataclass(frozen=True)
class PairCounts:
    """Doc pairs in one predicted cluster, in one truth cluster, and in both."""

    predicted: int
    truth: int
    both: int

    @property
    def precision(self) -> float | None:
        """None when there is no predicted pair: nothing was claimed, nothing wrong."""
        return self.both / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.both / self.truth if self.truth else None


@dataclass(frozen=True)
class TransformScore:
    """How one transformation fared. ``recall``: share of its copies put with their
    original. ``precision``: of the predicted same-cluster pairs with at least one doc
    of this transformation, the share that are in one truth cluster."""

    transform: str
    copies: int
    found: int  # copies in the predicted cluster of their original
    pairs: PairCounts  # pairs involving a doc of this transformation

    @property
    def recall(self) -> float | None:
        return self.found / self.copies if self.copies else None

    @property
    def precision(self) -> float | None:
        return self.pairs.precision


@dataclass(frozen=True)
class FalseMerges:
    """Pairs of distinct truth clusters joined in a predicted cluster, each pair counted
    once however many predicted clusters join it. ``per_1000`` is per 1,000 docs scored
    (every article the monitor saw, originals and copies). ``related`` counts those
    that join a pair of BBC sources known to be one developing story (see
    Dataset.bbc_related_pairs); ``examples`` are doc id pairs, one doc of each side."""

    count: int
    per_1000: float
    related: int
    examples: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Scores:
    """Everything the report shows about one detector run."""

    docs: int
    per_transform: tuple[TransformScore, ...]
    pairs: PairCounts  # over all docs
    ari: float
    false_merges: FalseMerges

    @property
    def precision(self) -> float | None:
        return self.pairs.precision

    @property
    def recall(self) -> float | None:
        return self.pairs.recall


def evaluate(
    truth: Mapping[str, str],
    predicted: Mapping[str, str],
    docs: Sequence[Doc],
    related: Iterable[tuple[str, str]] = (),
    examples: int = EXAMPLES,
) -> Scores:
    """Score ``predicted`` against ``truth`` for ``docs`` (which say each doc's
    transformation and source). Raises ValueError unless the three cover the same
    docs: a doc left out of ``predicted`` would silently count as a correct split."""
    _check(truth, predicted, docs)
    present = {d.transform for d in docs if d.transform != ORIGINAL}
    transforms = [t for t in ALL if t in present] + sorted(present - set(ALL))
    return Scores(
        docs=len(docs),
        per_transform=tuple(transform_score(t, truth, predicted, docs) for t in transforms),
        pairs=pair_counts(truth, predicted),
        ari=adjusted_rand_index(truth, predicted),
        false_merges=false_merges(truth, predicted, related, examples),
    )


def _check(truth: Mapping[str, str], predicted: Mapping[str, str], docs: Sequence[Doc]) -> None:
    ids = {d.id for d in docs}
    for name, mapping in (("truth", truth), ("predicted", predicted)):
        missing, extra = ids - mapping.keys(), mapping.keys() - ids
        if missing or extra:
            sample = sorted(missing or extra)[:3]
            raise ValueError(
                f"{name} has {len(missing)} docs missing and {len(extra)} unknown, e.g. {sample}"
            )


def pair_counts(truth: Mapping[str, str], predicted: Mapping[str, str]) -> PairCounts:
    """Pairwise counts over all docs of ``truth`` (which ``predicted`` must cover)."""
    cells = Counter((predicted[d], truth[d]) for d in truth)
    return PairCounts(
        predicted=sum(comb(n, 2) for n in Counter(predicted[d] for d in truth).values()),
        truth=sum(comb(n, 2) for n in Counter(truth.values()).values()),
        both=sum(comb(n, 2) for n in cells.values()),
    )


def transform_score(
    transform: str,
    truth: Mapping[str, str],
    predicted: Mapping[str, str],
    docs: Sequence[Doc],
) -> TransformScore:
    """Recall and precision of one copy transformation. Pairs involving a doc of T in a
    cluster of s docs, t of them of T: C(s, 2) - C(s - t, 2), the pairs minus those with
    no doc of T; the same per truth cluster and per contingency cell gives the truly
    same-cluster pairs and the found ones."""
    originals = {d.source_id: d.id for d in docs if d.transform == ORIGINAL}
    copies = [d for d in docs if d.transform == transform]
    found = sum(1 for d in copies if predicted[d.id] == predicted[originals[d.source_id]])
    of_t = {d.id for d in copies}
    pairs = PairCounts(
        predicted=_pairs_involving(predicted, of_t),
        truth=_pairs_involving(truth, of_t),
        both=_pairs_involving({d: (predicted[d], truth[d]) for d in truth}, of_t),
    )
    return TransformScore(transform, len(copies), found, pairs)


def _pairs_involving(clusters: Mapping[str, object], of_t: set[str]) -> int:
    """Same-cluster pairs with at least one doc in ``of_t``."""
    size: Counter[object] = Counter(clusters.values())
    size_t: Counter[object] = Counter(clusters[d] for d in of_t)
    return sum(comb(size[c], 2) - comb(size[c] - t, 2) for c, t in size_t.items())


def adjusted_rand_index(truth: Mapping[str, str], predicted: Mapping[str, str]) -> float:
    """Hubert and Arabie's adjusted Rand index from the contingency table:
    (index - expected) / (max - expected), with index = sum C(n_ij, 2), expected =
    sum C(a_i, 2) * sum C(b_j, 2) / C(n, 2), max = (sum C(a_i, 2) + sum C(b_j, 2)) / 2.
    1.0 for identical partitions (also the degenerate ones where max == expected:
    both all singletons, or both one cluster), about 0 for chance agreement."""
    pairs = pair_counts(truth, predicted)
    total = comb(len(truth), 2)
    if total == 0:
        return 1.0
    expected = Fraction(pairs.predicted * pairs.truth, total)
    maximum = Fraction(pairs.predicted + pairs.truth, 2)
    if maximum == expected:
        return 1.0
    return float((pairs.both - expected) / (maximum - expected))


def false_merges(
    truth: Mapping[str, str],
    predicted: Mapping[str, str],
    related: Iterable[tuple[str, str]] = (),
    examples: int = EXAMPLES,
) -> FalseMerges:
    """Distinct pairs of truth clusters that share a predicted cluster. A pair joined in
    two predicted clusters is one false merge: it can only be joined twice if both its
    truth clusters are split, so only pairs of split clusters need a set to dedupe;
    every other pair is counted from the number of truth clusters in each cluster."""
    members: dict[str, dict[str, str]] = defaultdict(dict)  # cluster -> truth -> first doc
    where: dict[str, set[str]] = defaultdict(set)  # truth -> predicted clusters
    for doc_id in sorted(truth):
        members[predicted[doc_id]].setdefault(truth[doc_id], doc_id)
        where[truth[doc_id]].add(predicted[doc_id])
    count = 0
    seen: set[tuple[str, str]] = set()  # pairs of split truth clusters already counted
    shown: dict[tuple[str, str], tuple[str, str]] = {}  # truth pair -> example docs
    for cluster in sorted(members):
        inside = members[cluster]
        count += comb(len(inside), 2)
        split = sorted(t for t in inside if len(where[t]) > 1)
        for i, a in enumerate(split):
            for b in split[i + 1 :]:
                if (a, b) in seen:
                    count -= 1
                seen.add((a, b))
        if len(shown) < examples and len(inside) > 1:
            first, *others = sorted(inside, key=inside.__getitem__)
            for other in others[: examples - len(shown)]:
                key = (min(first, other), max(first, other))
                shown.setdefault(key, (inside[first], inside[other]))
    joined = {tuple(sorted((truth[a], truth[b]))) for a, b in related if truth[a] != truth[b]}
    merged_related = sum(1 for a, b in joined if where[a] & where[b])
    per_1000 = 1000 * count / len(truth) if truth else 0.0
    return FalseMerges(count, per_1000, merged_related, tuple(shown.values()))


def markdown_rows(scores: Scores) -> list[str]:
    """The per-transformation table as Markdown lines (header, rule, one row each, then
    "all docs"), for the runner's report."""
    rows = [
        [t.transform, f"{t.copies:,}", f"{_pct(t.recall)} ({t.found:,})", _pct(t.precision)]
        for t in scores.per_transform
    ]
    rows.append(
        ["all docs (pairwise)", f"{scores.docs:,}", _pct(scores.recall), _pct(scores.precision)]
    )
    return Table("", ("transformation", "copies", "recall", "precision"), rows, "lrrr").markdown()


def markdown_summary(scores: Scores) -> list[str]:
    """The whole-run figures as Markdown bullet lines."""
    merges = scores.false_merges
    lines = [
        f"- docs: {scores.docs:,}",
        f"- pairwise precision {_pct(scores.precision)}, recall {_pct(scores.recall)}",
        f"- adjusted Rand index: {scores.ari:.4f}",
        f"- false merges: {merges.count:,} ({merges.per_1000:.2f} per 1,000 docs; "
        f"{merges.related:,} of them join updates of one developing story)",
    ]
    lines += [f"  - `{a}` + `{b}`" for a, b in merges.examples]
    return lines


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"
