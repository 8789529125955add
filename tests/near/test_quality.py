"""The near-duplicate benchmark's data and metrics (bench/neardup_data.py,
bench/neardup_metrics.py): transformations on hand-made articles with a tiny thesaurus,
metrics on partitions small enough to score by hand. Tests that read the real BBC files
or WordNet skip only when those are absent."""

from __future__ import annotations

import itertools
import os
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.neardup_data import (
    ALL,
    BBC,
    ORIGINAL,
    STOPWORDS,
    TRANSFORMS,
    WORDNET,
    Doc,
    Source,
    Thesaurus,
    build_dataset,
    content_slots,
    doc_id,
    duplicate_groups,
    edited,
    exact,
    headline,
    lead,
    read_bbc,
    spin,
    syndicated,
)
from bench.neardup_metrics import (
    adjusted_rand_index,
    evaluate,
    false_merges,
    markdown_rows,
    markdown_summary,
    pair_counts,
)

ARTICLE = Source(
    id="business/001",
    category="business",
    title="Steel maker reports record profit",
    paragraphs=(
        "Shares in Corus rose 12% on Monday after the steel maker reported record profit "
        "for the year.",
        "The company said strong demand from builders in China lifted prices, and its "
        "chief executive Philippe Varin expects the market to stay firm.",
        "Analysts at Deutsche Bank raised their forecast for the group to 950m pounds, "
        "citing lower costs at plants in Wales.",
        "Workers at the Port Talbot plant will receive a bonus, the union said.",
        "Corus was formed in 1999 from the merger of British Steel and Hoogovens.",
    ),
)
OTHER = Source(
    id="sport/002",
    category="sport",
    title="Striker signs new contract",
    paragraphs=(
        "The striker has agreed a new three-year contract with the club.",
        "His manager praised his attitude and said the deal rewards hard work.",
    ),
)
# Every lower-case word of ARTICLE that is no stopword, with a one-word synonym "xWORD".
# (Text split into words: a list literal would be 37 lines.)
CONTENT = (  # noqa: SIM905
    "steel maker reports record profit shares rose reported year company strong demand "
    "builders lifted prices chief executive expects market stay firm analysts raised "
    "forecast group pounds citing lower costs plants workers plant receive bonus union "
    "formed merger"
).split()
FULL = Thesaurus.from_dict({w: (f"x{w}",) for w in CONTENT})
NAMES = {"Corus", "Monday", "China", "Philippe", "Varin", "Deutsche", "Bank", "Wales", "Port"}


def words(text: str) -> list[str]:
    return text.split()


def unspin(text: str) -> str:
    """FULL's synonyms turned back into the words they replaced."""
    return re.sub(r"\b[xX](\w)", lambda m: m[1].upper() if m[0][0] == "X" else m[1], text)


# --------------------------------------------------------------------- transformations


def test_exact_is_identical() -> None:
    copy = exact(ARTICLE, random.Random(1), FULL)
    assert (copy.title, copy.paragraphs, copy.spin_rate) == (
        ARTICLE.title,
        ARTICLE.paragraphs,
        None,
    )


@pytest.mark.parametrize("seed", range(8))
def test_syndicated_contains_the_original_body(seed: int) -> None:
    copy = syndicated(ARTICLE, random.Random(seed), FULL)
    body = "\n\n".join(ARTICLE.paragraphs)
    assert body in "\n\n".join(copy.paragraphs)
    assert len(copy.paragraphs) > len(ARTICLE.paragraphs)  # at least one footer
    assert re.match(r"[A-Z ]+ \(\w+\) [-—] ", next(p for p in copy.paragraphs if "Shares" in p))
    assert copy.title.startswith(ARTICLE.title)


def test_syndicated_boilerplate_varies_with_the_seed() -> None:
    copies = {syndicated(ARTICLE, random.Random(seed), FULL) for seed in range(12)}
    assert len(copies) > 6


@pytest.mark.parametrize("seed", range(8))
def test_headline_rewrites_the_title_only(seed: int) -> None:
    copy = headline(ARTICLE, random.Random(seed), FULL)
    assert copy.title != ARTICLE.title
    assert "\n\n".join(ARTICLE.paragraphs) in "\n\n".join(copy.paragraphs)
    assert len(copy.paragraphs) == len(ARTICLE.paragraphs)


def test_headline_moves_the_clause_after_a_preposition() -> None:
    source = Source("x/1", "x", "Dollar gains on Greenspan speech", ("Body.",))
    titles = {headline(source, random.Random(s), Thesaurus.from_dict({})).title for s in range(20)}
    assert any(t.endswith("On Greenspan speech, Dollar gains") for t in titles)


@pytest.mark.parametrize("seed", range(8))
def test_edited_drops_a_later_paragraph_and_changes_a_few_words(seed: int) -> None:
    copy = edited(ARTICLE, random.Random(seed), FULL)
    assert copy.title != ARTICLE.title
    assert len(copy.paragraphs) == len(ARTICLE.paragraphs) - 1
    before, after = words(" ".join(ARTICLE.paragraphs)), words(" ".join(copy.paragraphs))
    changed = sum(1 for w in after if w.lower().startswith("x"))
    assert 2 <= changed <= 5
    # The lead stays first; no paragraph is invented; the rest keep their order or
    # two of them are swapped.
    restored = [unspin(p) for p in copy.paragraphs]
    assert restored[0] == ARTICLE.paragraphs[0]
    assert set(restored) < set(ARTICLE.paragraphs)
    order = [ARTICLE.paragraphs.index(p) for p in restored]
    assert sum(1 for a, b in itertools.pairwise(order) if a > b) <= 1
    assert len(after) < len(before)


@pytest.mark.parametrize("seed", range(8))
def test_lead_is_a_strict_prefix_of_the_paragraphs(seed: int) -> None:
    copy = lead(ARTICLE, random.Random(seed), FULL)
    assert copy.title == ARTICLE.title
    assert len(copy.paragraphs) in (2, 3)
    assert copy.paragraphs == ARTICLE.paragraphs[: len(copy.paragraphs)]
    short = lead(OTHER, random.Random(seed), FULL)
    assert short.paragraphs == OTHER.paragraphs[:1]  # never the whole article


def test_spin30_changes_thirty_percent_of_content_words_only() -> None:
    copy = TRANSFORMS["spin30"](ARTICLE, random.Random(5), FULL)
    before = words(" ".join((ARTICLE.title, *ARTICLE.paragraphs)))
    after = words(" ".join((copy.title, *copy.paragraphs)))
    assert len(before) == len(after)  # one-word synonyms: positions line up
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    content = len(content_slots((ARTICLE.title, *ARTICLE.paragraphs), FULL))
    assert content == len(CONTENT) + 3  # "Shares", "Analysts", "Workers" start sentences
    assert len(changed) == round(0.3 * content)
    assert copy.spin_rate == pytest.approx(len(changed) / content)
    for old, new in changed:
        bare = old.strip(".,")
        assert not any(c.isdigit() for c in old)
        assert bare.lower() not in STOPWORDS
        assert bare not in NAMES
        assert new.strip(".,").lower() == f"x{bare.lower()}"
        assert new[0].isupper() == old[0].isupper()  # capitalisation kept


def test_spin_never_touches_names_numbers_or_stopwords_at_any_rate() -> None:
    everything = Thesaurus.from_dict(
        {w.lower(): ("zzz",) for w in re.findall(r"[A-Za-z]+", " ".join(ARTICLE.paragraphs))}
    )
    spun = spin(ARTICLE.paragraphs, 1.0, random.Random(3), everything)
    kept = set(words(" ".join(spun.parts)))
    for name in NAMES | {"12%", "1999", "950m", "the", "said", "and", "from"}:
        assert name in kept or f"{name}." in kept or f"{name}," in kept
    assert spun.rate == 1.0


def test_spin_records_the_rate_reached_when_few_words_have_synonyms() -> None:
    sparse = Thesaurus.from_dict({"profit": ("gain",), "prices": ("costs",)})
    copy = TRANSFORMS["spin50"](ARTICLE, random.Random(2), sparse)
    content = len(content_slots((ARTICLE.title, *ARTICLE.paragraphs), sparse))
    assert copy.spin_rate == pytest.approx(3 / content)  # profit twice, prices once
    assert "gain" in copy.title and "record gain" in copy.paragraphs[0]


def test_a_name_at_the_start_of_a_sentence_is_left_alone() -> None:
    th = Thesaurus.from_dict({"corus": ("chorus",), "shares": ("stocks",)})
    text = ("Shares rose. Corus said so.", "Then Corus fell.")
    slots = content_slots(text, th)
    assert {s.word for s in slots if s.word[0].isupper()} == {"Shares"}  # Corus: a name
    assert spin(text, 1.0, random.Random(1), th).parts[0] == "Stocks rose. Corus said so."


def test_spinning_is_deterministic_for_a_seed() -> None:
    spin30 = TRANSFORMS["spin30"]
    assert spin30(ARTICLE, random.Random(9), FULL) == spin30(ARTICLE, random.Random(9), FULL)
    assert spin30(ARTICLE, random.Random(9), FULL) != spin30(ARTICLE, random.Random(10), FULL)


def test_thesaurus_reinflects_base_form_synonyms() -> None:
    nouns = Thesaurus.from_dict({"car": ("automobile", "motor car"), "profit": ("earnings",)})
    assert nouns.synonyms("cars") == ("automobiles", "motor cars")
    assert nouns.synonyms("profits") == ("earnings",)  # already plural: left as it is
    verbs = Thesaurus.from_dict({"jump": ("leap", "bound up"), "make": ("create",)}, pos="v")
    assert verbs.synonyms("jumped") == ("leaped", "bounded up")
    assert verbs.synonyms("making") == ("creating",)
    assert verbs.synonyms("jumps") == ("leaps", "bounds up")
    assert verbs.synonyms("jump") == ("leap", "bound up")
    assert verbs.synonyms("walked") == ()


# --------------------------------------------------------------------- data set


def near_copy(source: Source, new_id: str) -> Source:
    """The same story with one word changed, filed under another category."""
    last = source.paragraphs[-1].replace("formed", "created")
    return Source(new_id, new_id.split("/")[0], source.title, (*source.paragraphs[:-1], last))


def test_duplicate_groups_join_near_identical_sources_only() -> None:
    twin = near_copy(ARTICLE, "politics/003")
    assert duplicate_groups([ARTICLE, OTHER, twin]) == (("business/001", "politics/003"),)
    assert duplicate_groups([ARTICLE, OTHER]) == ()


def test_duplicate_groups_join_a_body_contained_in_a_longer_one() -> None:
    longer = Source("tech/004", "tech", "Longer", (*ARTICLE.paragraphs, "A new last paragraph."))
    assert duplicate_groups([ARTICLE, longer]) == (("business/001", "tech/004"),)


def test_build_dataset_orders_and_labels_the_docs() -> None:
    twin = near_copy(ARTICLE, "politics/003")
    data = build_dataset([ARTICLE, OTHER, twin], FULL, seed=4)
    assert len(data.docs) == 3 * (1 + len(ALL))
    published = [d.published for d in data.docs]
    assert published == sorted(published)
    assert all(p.tzinfo is UTC for p in published)
    start = datetime(2005, 1, 1, tzinfo=UTC)
    originals = {d.source_id: d for d in data.docs if d.transform == ORIGINAL}
    assert all(start <= d.published < start + timedelta(days=60) for d in originals.values())
    for doc in data.docs:
        original = originals[doc.source_id]
        if doc.transform != ORIGINAL:
            delay = doc.published - original.published
            assert timedelta(minutes=5) <= delay <= timedelta(days=2)
            assert doc.id == doc_id(doc.source_id, doc.transform)
        assert data.truth[doc.id] == data.truth[original.id]
        assert (doc.spin_rate is not None) == doc.transform.startswith("spin")
    assert data.bbc_duplicate_groups == (("business/001", "politics/003"),)
    assert data.truth["politics/003"] == data.truth["business/001"] != data.truth["sport/002"]
    assert len(set(data.truth.values())) == 2


def test_build_dataset_lists_updates_of_a_story_as_related_not_duplicate() -> None:
    update = Source(
        "business/009",
        "business",
        "Steel maker profit beats forecasts",
        (
            *ARTICLE.paragraphs[:3],
            "Later in the day the shares gave back some of their gains as traders took "
            "profits ahead of the results from rival producers in Germany next week.",
        ),
    )
    data = build_dataset([ARTICLE, update, OTHER], FULL, transforms=())
    assert data.bbc_duplicate_groups == ()
    assert data.bbc_related_pairs == (("business/001", "business/009"),)
    assert data.truth["business/001"] != data.truth["business/009"]


def test_build_dataset_is_deterministic_for_a_seed() -> None:
    sources = [ARTICLE, OTHER]
    assert build_dataset(sources, FULL, seed=7) == build_dataset(sources, FULL, seed=7)
    assert build_dataset(sources, FULL, seed=7) != build_dataset(sources, FULL, seed=8)


def test_copy_share_and_transforms_choose_the_copies() -> None:
    sources = [Source(f"tech/{i:03}", "tech", f"Title {i}", OTHER.paragraphs) for i in range(10)]
    data = build_dataset(sources, FULL, transforms=("exact", "lead"), copy_share=0.5)
    assert sum(d.transform == ORIGINAL for d in data.docs) == 10
    assert sum(d.transform == "exact" for d in data.docs) == 5
    assert {d.transform for d in data.docs} == {ORIGINAL, "exact", "lead"}
    # A copy does not change when other transformations are built beside it.
    alone = build_dataset(sources, FULL, transforms=("lead",), copy_share=0.5)
    assert {d for d in alone.docs if d.transform == "lead"} <= set(data.docs)
    with pytest.raises(ValueError, match="unknown"):
        build_dataset(sources, FULL, transforms=("rot13",))


# --------------------------------------------------------------------- metrics


def labels(*clusters: str) -> dict[str, str]:
    """Docs d0, d1, ... in the given clusters."""
    return {f"d{i}": c for i, c in enumerate(clusters)}


def test_ari_textbook_examples() -> None:
    # Truth {0,1,2}{3,4,5}, predicted {0,1}{2,3}{4,5}: sum C(n_ij,2) = 1 + 1 = 2,
    # sum C(a_i,2) = 3, sum C(b_j,2) = 6, C(6,2) = 15, expected = 18/15 = 1.2,
    # max = 4.5: ARI = 0.8 / 3.3 = 8/33 (0.2424, as in scikit-learn's documentation).
    truth = labels("a", "a", "a", "b", "b", "b")
    assert adjusted_rand_index(truth, labels("x", "x", "y", "y", "z", "z")) == pytest.approx(8 / 33)
    # Truth {0,1}{2,3}, predicted {0,1}{2}{3}: index 1, expected 2/6, max 3/2: 4/7.
    truth = labels("a", "a", "b", "b")
    assert adjusted_rand_index(truth, labels("x", "x", "y", "z")) == pytest.approx(4 / 7)
    # Crossed: index 0, expected 2/3, max 2: -0.5, worse than chance.
    assert adjusted_rand_index(truth, labels("x", "y", "x", "y")) == pytest.approx(-0.5)


def test_ari_of_identical_and_degenerate_partitions() -> None:
    truth = labels("a", "a", "b", "c", "c", "c")
    assert adjusted_rand_index(truth, labels("p", "p", "q", "r", "r", "r")) == 1.0
    singletons = labels("a", "b", "c")
    assert adjusted_rand_index(singletons, labels("x", "y", "z")) == 1.0
    assert adjusted_rand_index(labels("a", "a", "a"), labels("x", "x", "x")) == 1.0
    assert adjusted_rand_index(truth, labels("1", "2", "3", "4", "5", "6")) == 0.0


def mini_docs() -> tuple[list[Doc], dict[str, str]]:
    """Three sources: A with copies exact and lead, B with exact, C alone."""
    when = datetime(2005, 1, 1, tzinfo=UTC)
    plan = [("A", ORIGINAL), ("A", "exact"), ("A", "lead"), ("B", ORIGINAL), ("B", "exact")]
    plan.append(("C", ORIGINAL))
    docs = [Doc(doc_id(s, t), "t", "x", when, s, t, None) for s, t in plan]
    return docs, {d.id: d.source_id for d in docs}


def test_perfect_partition_scores_one_everywhere() -> None:
    docs, truth = mini_docs()
    scores = evaluate(truth, dict(truth), docs)
    assert scores.ari == 1.0
    assert (scores.precision, scores.recall) == (1.0, 1.0)
    assert [(t.transform, t.recall, t.precision) for t in scores.per_transform] == [
        ("exact", 1.0, 1.0),
        ("lead", 1.0, 1.0),
    ]
    assert scores.false_merges.count == 0 and scores.false_merges.examples == ()


def test_all_singletons_find_nothing_and_merge_nothing() -> None:
    docs, truth = mini_docs()
    scores = evaluate(truth, {d.id: d.id for d in docs}, docs)
    assert [(t.recall, t.precision) for t in scores.per_transform] == [(0.0, None), (0.0, None)]
    assert (scores.precision, scores.recall, scores.ari) == (None, 0.0, 0.0)
    assert scores.false_merges.count == 0


def test_per_transform_precision_counts_pairs_by_cluster_size() -> None:
    docs, truth = mini_docs()
    # A, A~exact and B~exact together; A~lead alone; B and C together.
    predicted = {"A": "p", "A~exact": "p", "B~exact": "p", "A~lead": "q", "B": "r", "C": "r"}
    scores = evaluate(truth, predicted, docs)
    by_name = {t.transform: t for t in scores.per_transform}
    # exact: copies A~exact (found), B~exact (not). Pairs with an exact doc in p:
    # C(3,2) - C(1,2) = 3, truly same: (A, A~exact) only.
    assert (by_name["exact"].found, by_name["exact"].copies) == (1, 2)
    assert by_name["exact"].pairs.predicted == 3 and by_name["exact"].pairs.both == 1
    assert by_name["exact"].precision == pytest.approx(1 / 3)
    assert (by_name["lead"].recall, by_name["lead"].precision) == (0.0, None)
    # Overall: predicted pairs 3 + 1 = 4, truth pairs 3 + 1 = 4, both 1.
    assert scores.pairs == pair_counts(truth, predicted)
    assert (scores.pairs.predicted, scores.pairs.truth, scores.pairs.both) == (4, 4, 1)
    # False merges: A+B in p, B+C in r.
    assert scores.false_merges.count == 2
    assert scores.false_merges.per_1000 == pytest.approx(2000 / 6)
    assert set(scores.false_merges.examples) == {("A", "B~exact"), ("B", "C")}


def test_a_false_merge_made_twice_is_counted_once() -> None:
    truth = {"a1": "A", "a2": "A", "b1": "B", "b2": "B", "c1": "C"}
    predicted = {"a1": "p", "b1": "p", "a2": "q", "b2": "q", "c1": "c1"}
    merges = false_merges(truth, predicted)
    assert merges.count == 1 and len(merges.examples) == 1
    # Three truth clusters in one predicted cluster: three false merges.
    merges = false_merges(truth, dict.fromkeys(truth, "p"), examples=2)
    assert merges.count == 3 and len(merges.examples) == 2


def test_false_merges_of_related_stories_are_counted_apart() -> None:
    truth = {"s/1": "s/1", "s/2": "s/2", "s/3": "s/3"}
    predicted = {"s/1": "p", "s/2": "p", "s/3": "s/3"}
    merges = false_merges(truth, predicted, related=[("s/1", "s/2"), ("s/2", "s/3")])
    assert (merges.count, merges.related) == (1, 1)


def test_evaluate_refuses_a_prediction_that_misses_docs() -> None:
    docs, truth = mini_docs()
    with pytest.raises(ValueError, match="1 docs missing"):
        evaluate(truth, {d: d for d in list(truth)[1:]}, docs)


def test_markdown_rows_have_a_row_per_transformation() -> None:
    docs, truth = mini_docs()
    scores = evaluate(truth, dict(truth), docs)
    rows = markdown_rows(scores)
    assert rows[0].startswith("| transformation |") and len(rows) == 2 + 2 + 1
    assert rows[2] == "| exact | 2 | 100.0 % (2) | 100.0 % |"
    assert any("adjusted Rand index: 1.0000" in line for line in markdown_summary(scores))


# --------------------------------------------------------------------- the real files


# CI has both (.ci/run installs WordNet): there, a missing one fails instead of skipping.
_LOCAL = not os.environ.get("CI")
needs_bbc = pytest.mark.skipif(
    _LOCAL and not BBC.is_dir(), reason="BBC articles not in shared/data"
)
needs_wordnet = pytest.mark.skipif(
    _LOCAL and not (WORDNET / "data.noun").is_file(),
    reason="WordNet not installed (apt-get install wordnet-base)",
)


@needs_bbc
def test_read_bbc_reads_every_article_whatever_its_encoding() -> None:
    sources = read_bbc(BBC)
    assert len(sources) == 2225
    assert all(s.title and len(s.paragraphs) >= 2 for s in sources)
    latin1 = next(s for s in sources if s.id == "sport/199")
    assert "£15.8m" in " ".join(latin1.paragraphs)


@needs_wordnet
def test_wordnet_synonyms() -> None:
    wordnet = Thesaurus.load(WORDNET)
    assert "stated" in wordnet.synonyms("said")
    assert "shrub" in wordnet.synonyms("bush")
    assert not any(s[0].isupper() or "_" in s for s in wordnet.synonyms("bush"))
    assert wordnet.synonyms("units") and all(
        " " not in s or s.endswith("s") for s in wordnet.synonyms("units")
    )
    assert wordnet.synonyms("said") == Thesaurus.load(WORDNET).synonyms("said")


def test_missing_wordnet_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="apt-get install wordnet-base"):
        Thesaurus.load(tmp_path)
