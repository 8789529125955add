"""A watchlist file read, validated and turned into a Watchlist, or a WatchlistError.

Every error names ``file:line:col`` and what was expected; all the errors of a
file are reported at once, so a user fixes them in one go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.core.errors import ConfigError, WatchlistError
from monitor.core.files import read_capped
from monitor.core.yamlsrc import Document, PathKey, expected, load_text
from monitor.match.values import Meaning, Ref, Rule, Term, Watchlist
from monitor.watchlist.spec import (
    MAX_SENTENCE,
    MAX_SENTENCES,
    ConceptObject,
    MeaningSpec,
    RuleSpec,
    TermObject,
    WatchlistSpec,
)
from monitor.watchlist.terms import parse_term

MAX_BYTES = 2_000_000
UNKNOWN_FIELD = "unknown field (see `monitor watchlist schema` for the format)"
SHOWN_INPUT = 80  # characters of a wrong value repeated in its error (a list of 51 sentences)

__all__ = ["MAX_SENTENCE", "MAX_SENTENCES", "load_watchlist", "parse_watchlist"]


def load_watchlist(path: Path) -> Watchlist:
    raw = read_capped(path, MAX_BYTES, WatchlistError)
    return parse_watchlist(raw, str(path), default_name=path.stem)


def parse_watchlist(raw: bytes, source: str, default_name: str) -> Watchlist:
    if len(raw) > MAX_BYTES:
        raise WatchlistError(f"{source}: larger than {MAX_BYTES} bytes")
    try:
        document = load_text(raw.decode("utf-8"), source)
    except UnicodeDecodeError as exc:
        raise WatchlistError(f"{source}: not UTF-8 (byte {exc.start})") from exc
    except ConfigError as exc:
        raise WatchlistError(exc.message) from exc
    if not isinstance(document.data, dict):
        raise WatchlistError(f"{document.where(())}: expected a mapping with 'rules' at the top")
    try:
        spec = WatchlistSpec.model_validate(document.data)
    except ValidationError as exc:
        raise WatchlistError(_describe(exc, document)) from exc
    return _build(spec, document, default_name, hashlib.blake2b(raw, digest_size=16).hexdigest())


def _build(spec: WatchlistSpec, document: Document, name: str, digest: str) -> Watchlist:
    problems: list[str] = []
    refs = [*_refs(spec, document, problems)]
    known = {ref.name for ref in refs}
    rules = [_rule(n, r, known, document, problems) for n, r in spec.rules.items()]
    if problems:
        raise WatchlistError("\n".join(problems))
    return Watchlist(
        name=spec.name or name,
        source=document.source,
        description=spec.description,
        refs=tuple(refs),
        rules=tuple(rules),
        feeds=tuple(spec.feeds),
        languages=tuple(spec.languages),
        meaning=_meaning(spec.meaning),
        digest=digest,
    )


def _meaning(spec: MeaningSpec | None) -> Meaning | None:
    if spec is None:
        return None
    return Meaning(enabled=spec.enabled, threshold=spec.threshold, veto=spec.veto)


def _refs(spec: WatchlistSpec, document: Document, problems: list[str]) -> Iterator[Ref]:
    for name, actor in spec.actors.items():
        place = ("actors", name)
        terms = _terms(
            actor.aliases, None, _list_place(document, place, "aliases"), document, problems, False
        )
        exclude = _terms(actor.exclude, None, (*place, "exclude"), document, problems, False)
        yield Ref(name, "actor", terms, exclude)
    for name, concept in spec.concepts.items():
        place = ("concepts", name)
        if name in spec.actors:
            problems.append(f"{document.where(place)}: '{name}' is already an actor's name")
        near = spec.near if concept.near is None else concept.near
        terms = _terms(
            concept.terms, near, _list_place(document, place, "terms"), document, problems
        )
        exclude = _terms(concept.exclude, None, (*place, "exclude"), document, problems)
        _same_sentence_twice(concept, (*place, "not"), document, problems)
        yield Ref(
            name,
            "concept",
            terms,
            exclude,
            examples=tuple(concept.examples),
            not_examples=tuple(concept.not_examples),
            meaning=_meaning(concept.meaning),
            description=concept.description,
        )


def _same_sentence_twice(
    concept: ConceptObject, place: PathKey, document: Document, problems: list[str]
) -> None:
    """A sentence cannot both match and not match: say which, where it is a negative."""
    examples = set(concept.examples)
    for index, sentence in enumerate(concept.not_examples):
        if sentence in examples:
            problems.append(
                f"{document.where((*place, index))}: {sentence!r} is also in this "
                "concept's examples (a sentence cannot both match and not)"
            )


def _list_place(document: Document, place: PathKey, key: str) -> PathKey:
    """Where a ref's list of terms is: under ``key``, or the ref itself when written short."""
    data = document.data
    for part in place:
        data = data.get(part) if isinstance(data, dict) else None
    return place if isinstance(data, list) else (*place, key)


def _terms(
    specs: list[TermObject],
    near: int | None,
    place: PathKey,
    document: Document,
    problems: list[str],
    stem: bool = True,
) -> tuple[Term, ...]:
    terms = []
    for index, spec in enumerate(specs):
        try:
            terms.append(parse_term(spec, near, stem))
        except ValueError as exc:
            problems.append(f"{document.where((*place, index))}: {exc}")
    return tuple(terms)


def _rule(
    name: str, spec: RuleSpec, known: set[str], document: Document, problems: list[str]
) -> Rule:
    place = ("rules", name)
    for key in ("all", "any", "none"):
        for index, ref in enumerate(getattr(spec, key)):
            if ref not in known:
                problems.append(
                    f"{document.where((*place, key, index))}: unknown actor or concept "
                    f"'{ref}' (this file defines: {', '.join(sorted(known)) or 'none'})"
                )
    for ref in spec.weights:
        if ref not in spec.all + spec.any:
            problems.append(
                f"{document.where((*place, 'weights', ref))}: a weight for '{ref}', "
                "which is not in this rule's 'all' or 'any'"
            )
    return Rule(
        name=name,
        all=tuple(spec.all),
        any=tuple(spec.any),
        none=tuple(spec.none),
        weights=tuple(spec.weights.items()),
        min_score=spec.min_score,
        fields=tuple(spec.fields),
        feeds=tuple(spec.feeds),
        languages=tuple(spec.languages),
    )


def _describe(exc: ValidationError, document: Document) -> str:
    lines = []
    for error in exc.errors():
        loc = _data_path(document.data, tuple(error["loc"]))
        dotted = ".".join(str(part) for part in loc) or "(top)"
        shown = {**error, "input": _Shown(error.get("input"))}
        said = _about_sentences(error) or expected(shown, UNKNOWN_FIELD)
        lines.append(f"{document.where(loc)}: {dotted}: {said}")
    return "\n".join(lines)


def _about_sentences(error: Any) -> str | None:
    """Plainer words for a list of example sentences that is empty or too long."""
    if error["loc"][-1:] not in (("examples",), ("not",)):
        return None
    if error["type"] == "too_short":
        return "an empty list: give at least one sentence, or leave the key out"
    if error["type"] == "too_long":
        return (
            f"{len(error['input'])} sentences, at most {MAX_SENTENCES}: keep the clearest "
            "(each is compared with every sentence of every article)"
        )
    return None


class _Shown:
    """A wrong value as its error repeats it: cut short when long."""

    def __init__(self, value: Any) -> None:
        self.text = repr(value)

    def __repr__(self) -> str:
        if len(self.text) <= SHOWN_INPUT:
            return self.text
        return f"{self.text[:SHOWN_INPUT]}… ({len(self.text)} characters)"


def _data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """``loc`` without the parts that are not in the file (pydantic's model and union tags)."""
    path: list[str | int] = []
    for part in loc:
        if isinstance(data, dict) and str(part) in data:
            data = data[str(part)]
            path.append(str(part))
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
            path.append(part)
        elif not isinstance(data, dict | list) or (isinstance(part, str) and part.isidentifier()):
            # a key missing from a mapping, or a field of an object written short
            if isinstance(data, dict):
                path.append(str(part))
            break
    return tuple(path)
