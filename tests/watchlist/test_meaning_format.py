"""The watchlist format for matching by meaning: `examples:`, `not:` and `meaning:`.

They are part of the format whether or not the optional extra is installed:
validated, with file and line, and unused until the engine matches by meaning.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from monitor.core.errors import WatchlistError
from monitor.match.values import DEFAULT_MEANING, Meaning, Watchlist
from monitor.watchlist.load import MAX_SENTENCE, MAX_SENTENCES, parse_watchlist
from monitor.watchlist.spec import json_schema

LAYOFFS = """\
name: jobs
meaning: {threshold: 0.55}
concepts:
  layoffs:
    description: companies cutting jobs
    terms: [layoffs, job cuts]
    examples:
      - The lender will shed about 5% of its workforce.
      - Hundreds of staff were let go at the plant.
    not:
      - The government announced tax cuts for small businesses and new jobs grants.
    meaning: {veto: false}
  hiring: [hiring, new jobs]
  strikes:
    terms: [strike]
    meaning: false
rules:
  r: {all: [layoffs]}
"""


def load(text: str) -> Watchlist:
    return parse_watchlist(text.encode(), "w.yaml", "w")


def error_of(text: str) -> str:
    with pytest.raises(WatchlistError) as caught:
        load(text)
    return caught.value.message


def concept(sentences: str) -> str:
    return f"concepts:\n  c:\n    terms: [x]\n{sentences}rules:\n  r: {{all: [c]}}\n"


def test_examples_negatives_and_meaning_settings_load() -> None:
    watchlist = parse_watchlist(LAYOFFS.encode(), "w.yaml", "w")
    layoffs = watchlist.ref("layoffs")
    assert layoffs.examples == (
        "The lender will shed about 5% of its workforce.",
        "Hundreds of staff were let go at the plant.",
    )
    assert layoffs.not_examples == (
        "The government announced tax cuts for small businesses and new jobs grants.",
    )
    assert watchlist.meaning == Meaning(threshold=0.55)
    assert layoffs.meaning == Meaning(veto=False)
    # a concept's settings fall back on the watchlist's, then on the defaults
    assert watchlist.meaning_of(layoffs) == Meaning(enabled=True, threshold=0.55, veto=False)
    assert watchlist.meaning_of(watchlist.ref("hiring")) == Meaning(
        enabled=True, threshold=0.55, veto=True
    )
    assert watchlist.meaning_of(watchlist.ref("strikes")).enabled is False
    assert watchlist.ref("hiring").examples == () and watchlist.ref("hiring").meaning is None
    assert watchlist.uses_meaning


def test_a_watchlist_without_the_new_keys_is_as_before() -> None:
    watchlist = parse_watchlist(b"concepts:\n  c: [x]\nrules:\n  r: {all: [c]}\n", "w.yaml", "w")
    assert watchlist.meaning is None and watchlist.ref("c").meaning is None
    assert watchlist.meaning_of(watchlist.ref("c")) == DEFAULT_MEANING
    assert not watchlist.uses_meaning


def test_the_sentences_count_in_the_digest_that_detects_an_edit() -> None:
    first = parse_watchlist(LAYOFFS.encode(), "w.yaml", "w")
    edited = LAYOFFS.replace("let go at the plant", "laid off at the plant")
    assert parse_watchlist(edited.encode(), "w.yaml", "w").digest != first.digest
    assert parse_watchlist(edited.encode(), "w.yaml", "w") != first


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            concept("    examples: []\n"),
            "w.yaml:4:5: concepts.c.examples: an empty list: give at least one sentence",
        ),
        (concept("    not: []\n"), "w.yaml:4:5: concepts.c.not: an empty list"),
        (
            concept("    examples:\n"),
            "w.yaml:4:5: concepts.c.examples: Input should be a valid list",
        ),
        (
            concept("    examples:\n      - 5\n"),
            "w.yaml:5:9: concepts.c.examples.0: Input should be a valid string",
        ),
        (
            concept("    not: [{term: tax cuts}]\n"),
            "w.yaml:4:11: concepts.c.not.0: Input should be a valid string",
        ),
        (
            concept("    examples: ['']\n"),
            "w.yaml:4:16: concepts.c.examples.0: String should have at least 1 character",
        ),
        (
            concept("    examples: ['   ']\n"),
            "w.yaml:4:16: concepts.c.examples.0: a blank sentence",
        ),
        (
            concept(f"    not: ['{'a' * (MAX_SENTENCE + 1)}']\n"),
            f"w.yaml:4:11: concepts.c.not.0: String should have at most {MAX_SENTENCE} characters",
        ),
        (
            concept(f"    examples: {['s'] * (MAX_SENTENCES + 1)}\n"),
            f"w.yaml:4:5: concepts.c.examples: 51 sentences, at most {MAX_SENTENCES}",
        ),
        (
            concept("    meaning: {threshold: 1.5}\n"),
            "w.yaml:4:15: concepts.c.meaning.threshold: Input should be less than or equal to 1",
        ),
        (
            concept("    meaning: {threshold: -0.1}\n"),
            "w.yaml:4:15: concepts.c.meaning.threshold: Input should be greater than or equal to 0",
        ),
        (
            "meaning: {treshold: 0.5}\n" + concept(""),
            "w.yaml:1:11: meaning.treshold: unknown field",
        ),
        (
            "meaning: {enabled: maybe}\n" + concept(""),
            "w.yaml:1:11: meaning.enabled: Input should be a valid boolean",
        ),
        (
            concept("    examples: [Jobs were cut.]\n    not: [Jobs were cut.]\n"),
            "w.yaml:5:11: 'Jobs were cut.' is also in this concept's examples",
        ),
        (
            "actors:\n  a:\n    aliases: [x]\n    examples: [y]\nrules:\n  r: {all: [a]}\n",
            "w.yaml:4:5: actors.a.examples: unknown field",
        ),
    ],
)
def test_each_mistake_names_the_file_and_line(text: str, expected: str) -> None:
    assert expected in error_of(text)


def test_a_long_input_is_not_copied_whole_into_the_error() -> None:
    message = error_of(concept(f"    examples: {['s'] * (MAX_SENTENCES + 1)}\n"))
    assert len(message) < 300


def test_the_schema_knows_the_new_keys_and_their_limits() -> None:
    data = yaml.safe_load(LAYOFFS)
    jsonschema.validate(data, json_schema())
    too_many = {**data, "concepts": {"c": {"terms": ["x"], "examples": ["s"] * 51}}}
    for bad in (
        {**data, "meaning": {"threshold": 2}},
        too_many,
        {**data, "concepts": {"c": {"terms": ["x"], "not": []}}},
        {**data, "concepts": {"c": {"terms": ["x"], "not": [""]}}},
        {**data, "concepts": {"c": {"terms": ["x"], "not": ["  "]}}},
        {**data, "concepts": {"c": {"terms": ["x"], "examples": ["s" * 501]}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, json_schema())


def test_the_readme_example_loads() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("**Meaning.**", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    watchlist = load(example + "rules:\n  r: {all: [layoffs]}\n")
    assert watchlist.meaning_of(watchlist.ref("layoffs")) == Meaning(True, 0.35, True)
