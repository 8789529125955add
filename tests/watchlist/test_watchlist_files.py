"""Watchlist files: errors that point at the line, the schema, and the shipped examples."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.errors import WatchlistError
from monitor.watchlist.load import load_watchlist, parse_watchlist
from monitor.watchlist.spec import json_schema

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "watchlists").glob("*.yaml"))


def error_of(text: str) -> str:
    with pytest.raises(WatchlistError) as caught:
        parse_watchlist(text.encode(), "w.yaml", "w")
    return caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "actors:\n  nk: [North Korea]\nrules:\n  r:\n    all: [nk, russia]\n",
            "w.yaml:5:15: unknown actor or concept 'russia' (this file defines: nk)",
        ),
        (
            "actors:\n  nk:\n    aliases: []\nrules:\n  r: {all: [nk]}\n",
            "w.yaml:3:5: actors.nk.aliases: List should have at least 1 item",
        ),
        (
            "concepts:\n  c:\n    - {regex: 'T-(72'}\nrules:\n  r: {all: [c]}\n",
            "w.yaml:3:7: bad regular expression (RE2 syntax): missing ): T-(72",
        ),
        (
            "actors:\n  nk:\n    aliasses: [x]\nrules:\n  r: {all: [nk]}\n",
            "w.yaml:3:5: actors.nk.aliasses: unknown field",
        ),
        (
            "actors:\n  nk: [x]\nrules:\n  r: {all: [nk], minscore: 2}\n",
            "w.yaml:4:18: rules.r.minscore: unknown field",
        ),
        ("actors:\n  nk: [x]\n  nk: [y]\nrules: {}\n", "w.yaml:3:3: duplicate key 'nk'"),
        ("actors:\n  nk: [x]\nrules:\n  r: {none: [nk]}\n", "a rule needs at least one"),
        ("concepts:\n  c: ['d*']\nrules:\n  r: {all: [c]}\n", "w.yaml:2:7: 'd*': a wildcard"),
        ("rules: [\n", "w.yaml:2:1: invalid YAML"),
        (
            "actors:\n  k: !!python/object/apply:os.system [Kursk]\nrules: {r: {all: [k]}}\n",
            "w.yaml:2:6: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
        ("- just a list\n", "expected a mapping with 'rules' at the top"),
    ],
)
def test_errors_name_the_line_and_column_and_what_was_expected(text: str, expected: str) -> None:
    assert expected in error_of(text)


def test_every_error_of_a_file_is_reported_at_once() -> None:
    message = error_of("actors:\n  nk: [North Korea]\nrules:\n  a: {all: [ru]}\n  b: {all: [cn]}\n")
    assert "'ru'" in message and "'cn'" in message


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_watchlists_load_and_validate_against_the_published_schema(path: Path) -> None:
    load_watchlist(path)
    jsonschema.validate(yaml.safe_load(path.read_text()), json_schema())


def test_the_schema_file_in_docs_is_up_to_date() -> None:
    published = json.loads((ROOT / "docs" / "watchlist.schema.json").read_text())
    assert published == json_schema(), "run: monitor watchlist schema -o docs/watchlist.schema.json"


def test_the_schema_rejects_what_the_loader_rejects() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"rules": {"r": {"all": ["x"], "mins": 1}}}, json_schema())


name = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
word = st.from_regex(r"[A-Za-z][a-z]{1,8}", fullmatch=True)
term = st.one_of(
    st.lists(word, min_size=1, max_size=3).map(" ".join),
    st.builds(lambda w, c: {"term": w, "case": c, "weight": 2}, word, st.booleans()),
)


@st.composite
def watchlist_files(draw: st.DrawFn) -> dict[str, object]:
    actors = draw(st.dictionaries(name, st.lists(term, min_size=1, max_size=3), min_size=1))
    concepts = {
        f"c_{k}": {"terms": v, "near": draw(st.integers(0, 9))}
        for k, v in draw(st.dictionaries(name, st.lists(term, min_size=1, max_size=3))).items()
    }
    refs = [*actors, *concepts]
    rules = {
        f"r{i}": {"all": draw(st.lists(st.sampled_from(refs), min_size=1, max_size=2))}
        for i in range(draw(st.integers(1, 3)))
    }
    return {"name": draw(name), "actors": actors, "concepts": concepts, "rules": rules}


@settings(max_examples=60, deadline=None)
@given(data=watchlist_files())
def test_a_watchlist_round_trips_through_the_schema_and_the_loader(data: dict[str, object]) -> None:
    jsonschema.validate(data, json_schema())
    text = yaml.safe_dump(data, allow_unicode=True)
    first = parse_watchlist(text.encode(), "w.yaml", "w")
    again = parse_watchlist(yaml.safe_dump(yaml.safe_load(text)).encode(), "w.yaml", "w")
    assert first == again
    assert {ref.name for ref in first.refs} == set(data["actors"]) | set(data["concepts"])  # type: ignore[call-overload]
