"""The judge's logic (thresholds, cues, vetoes, the first test, batching) over a
bag-of-words encoder: similarity here is shared words, which is all these behaviours
need. What needs the real model (paraphrases caught, traps refused) is measured by
bench/semantic/evaluate.py and checked in test_judge_model.py once the model fixture
exists."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from monitor.meaning.judge import DEFAULT_THRESHOLD, ConceptText, Judge, term_phrase

LAYOFFS = ConceptText(
    key="w/layoffs",
    name="layoffs",
    description="An employer cuts jobs or lays off staff.",
    terms=("layoffs", "job cuts NEAR/3"),
    threshold=0.3,
)


class WordsEncoder:
    """Each text as its bag of lower-case words, L2-normalised; counts its calls."""

    name = "bag of words"
    dimension = 512

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dimension), np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, self.vocabulary.setdefault(word, len(self.vocabulary))] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def judge(*concepts: ConceptText) -> tuple[Judge, WordsEncoder]:
    encoder = WordsEncoder()
    return Judge(encoder, concepts or (LAYOFFS,)), encoder


def test_a_sentence_near_the_concept_is_a_hit_with_its_evidence() -> None:
    j, _ = judge()
    body = "Rain fell on the hills. The employer cuts jobs and lays off staff at two plants."
    (hit,) = j.read("", body).hits("w/layoffs")
    assert body[hit.sentence.start : hit.sentence.end] == hit.sentence.text
    assert hit.sentence.text.startswith("The employer cuts jobs")
    assert hit.similarity >= hit.threshold == 0.3
    assert hit.nearest == "description"


def test_below_the_threshold_there_is_no_hit() -> None:
    j, _ = judge()
    assert j.read("", "Rain fell on the hills and the rivers rose.").hits("w/layoffs") == ()


def test_a_concept_without_a_threshold_uses_the_default() -> None:
    j, _ = judge(ConceptText("w/c", "c", "An employer cuts jobs", ("layoffs",)))
    hits = j.read("", "An employer cuts jobs and staff. Layoffs.").hits("w/c")
    assert hits and {h.threshold for h in hits} == {DEFAULT_THRESHOLD}


def test_a_sentence_that_reports_a_denial_is_not_a_hit() -> None:
    j, _ = judge()
    body = "The employer denied it cuts jobs or lays off staff."
    assert j.read("", body).hits("w/layoffs") == ()


def test_a_listed_term_in_a_sentence_far_from_the_description_is_vetoed() -> None:
    j, _ = judge()
    body = "Redundancies and layoffs in the grid backup kept power on."
    start = body.index("layoffs")
    veto = j.read("", body).veto("w/layoffs", "body", start, start + 7)
    assert veto is not None and "below" in veto.why and veto.similarity < 0.25


def test_a_listed_term_in_a_sentence_about_the_concept_is_kept() -> None:
    j, _ = judge()
    body = "The employer announced layoffs: it cuts jobs and lays off staff."
    start = body.index("layoffs")
    assert j.read("", body).veto("w/layoffs", "body", start, start + 7) is None


def test_a_denied_term_is_vetoed_and_the_why_names_the_cue() -> None:
    j, _ = judge()
    body = "The employer said it ruled out layoffs and will not cut jobs or staff."
    start = body.index("layoffs")
    veto = j.read("", body).veto("w/layoffs", "body", start, start + 7)
    assert veto is not None and "'ruled out'" in veto.why


def test_veto_off_keeps_every_lexical_hit() -> None:
    concept = ConceptText("w/c", "c", LAYOFFS.description, LAYOFFS.terms, veto=False)
    j, _ = judge(concept)
    body = "It ruled out layoffs."
    assert j.read("", body).veto("w/c", "body", body.index("layoffs"), len(body) - 1) is None


def test_a_sentence_nearer_a_not_sentence_is_neither_hit_nor_kept() -> None:
    concept = ConceptText(
        "w/c",
        "c",
        "An employer cuts staff.",
        ("layoffs",),
        not_examples=("The government cuts taxes for an employer who hires staff.",),
        threshold=0.2,
    )
    j, _ = judge(concept)
    body = "The government cuts taxes for an employer who hires staff, and layoffs fall."
    reading = j.read("", body)
    assert reading.hits("w/c") == ()
    veto = reading.veto("w/c", "body", body.index("layoffs"), body.index("layoffs") + 7)
    assert veto is not None and veto.why.startswith("nearer the not: sentence")


def test_an_article_far_from_every_concept_is_screened_out_but_can_still_be_vetoed() -> None:
    j, encoder = judge()
    body = "Rain fell on hills. Layoffs of rain."
    reading = j.read("", body)
    assert reading.screened_out and reading.hits("w/layoffs") == ()
    calls = len(encoder.calls)
    start = body.index("Layoffs")
    assert reading.veto("w/layoffs", "body", start, start + 7) is not None
    assert encoder.calls[calls:] == [1]  # the one sentence asked about


def test_many_articles_are_read_with_two_encodes() -> None:
    j, encoder = judge()
    articles = [
        ("Employer cuts jobs", f"Story {i}. The employer lays off staff.") for i in range(5)
    ]
    before = len(encoder.calls)
    readings = j.read_many(articles)
    assert encoder.calls[before:] == [5, 15]  # the leads, then every sentence kept
    assert all(r.hits("w/layoffs") for r in readings)


def test_nearest_lists_the_closest_sentences_best_first() -> None:
    j, _ = judge()
    sentences = [
        "Rain fell.",
        "The employer cuts jobs.",
        "An employer cuts jobs or lays off staff.",
    ]
    found = j.nearest("w/layoffs", sentences, top=2)
    assert [s for _, s in found] == [sentences[2], sentences[1]]
    assert found[0][0] > found[1][0]


@pytest.mark.parametrize(
    ("term", "phrase"),
    [
        ("troop* deploy*", "troop deploy"),
        ("soldiers deployed NEAR/3", "soldiers deployed"),
        ('"off the rails"', "off the rails"),
    ],
)
def test_a_term_is_read_as_plain_words(term: str, phrase: str) -> None:
    assert term_phrase(term) == phrase
