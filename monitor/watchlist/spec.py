"""The watchlist file format, as pydantic models: validation and the JSON Schema.

A file (YAML) looks like::

    name: north-korea-russia
    description: North Korean military support to Russia
    actors:
      north_korea: [North Korea, DPRK, Pyongyang, North Korean, Kim Jong Un]
      russia: {aliases: [Russia, Russian, Moscow, Kremlin, Putin]}
    concepts:
      deployment: [troop deployment, deploy* soldiers NEAR/4]
    rules:
      troops_to_russia:
        all: [north_korea, russia, deployment]
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SCHEMA_ID = "https://monitor.example/schemas/watchlist.json"
# A concept's example sentences are embedded once per load and every article
# sentence is compared with each: 50 phrasings cover a concept (more say it should
# be split in two) and keep that cost bounded. One sentence, not a paragraph: a
# news sentence runs to about 250 characters; past 500 a text blurs several
# meanings (and models read only its first few hundred word pieces).
MAX_SENTENCES = 50
MAX_SENTENCE = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermObject(_Strict):
    """A term with options. Give exactly one of ``term`` and ``regex``."""

    term: str | None = Field(
        default=None,
        description='Words (stemmed), "an exact phrase", prefix* wildcards, NEAR/n.',
    )
    regex: str | None = Field(
        default=None,
        description="A regular expression in RE2 syntax (no lookaround, no backreferences), "
        "on the stored text; ignores case unless 'case' is true.",
    )
    weight: float = Field(default=1.0, gt=0, description="Score of each occurrence.")
    case: bool = Field(default=False, description="Match the case exactly (acronyms: US, WHO).")
    stem: bool | None = Field(
        default=None,
        description="Match inflected forms (default: yes in concepts, no in actors' names).",
    )
    near: int | Literal["phrase"] | None = Field(
        default=None,
        ge=0,
        le=50,
        description="'phrase': words in order, side by side; n: any order within n words.",
    )

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"term": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_kind(self) -> TermObject:
        if (self.term is None) == (self.regex is None):
            raise ValueError("give exactly one of 'term' and 'regex'")
        return self


TermSpec = str | TermObject


class ActorObject(_Strict):
    description: str = ""
    aliases: list[TermObject] = Field(
        min_length=1, description="Names, abbreviations, demonyms, leaders."
    )
    exclude: list[TermObject] = Field(
        default_factory=list,
        description="Phrases that cancel an alias found inside them ('South Korea'); "
        "one inside a longer alias does not cancel it.",
    )

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"aliases": value} if isinstance(value, list) else value


def _not_blank(sentence: str) -> str:
    if not sentence.strip():
        raise ValueError("a blank sentence: write one or remove the line")
    return sentence


Sentence = Annotated[
    str,
    # the schema says "not blank" as a pattern; the loader, in words (_not_blank)
    Field(min_length=1, max_length=MAX_SENTENCE, json_schema_extra={"pattern": r"\S"}),
    AfterValidator(_not_blank),
]
Sentences = Annotated[list[Sentence], Field(min_length=1, max_length=MAX_SENTENCES)]


class MeaningSpec(_Strict):
    """Matching by meaning (optional extra monitor[semantic]); unset keys fall back."""

    enabled: bool | None = Field(
        default=None,
        description="Match by meaning too (default: yes, once monitor[semantic] is installed).",
    )
    threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Similarity (0..1) a sentence needs (default: calibrated for the model).",
    )
    veto: bool | None = Field(
        default=None,
        description="Meaning may cancel a listed term used in another sense (default: yes).",
    )

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value


class ConceptObject(_Strict):
    description: str = ""
    terms: list[TermObject] = Field(min_length=1, description="Keywords and phrases.")
    exclude: list[TermObject] = Field(
        default_factory=list, description="Phrases that cancel a term found inside them."
    )
    near: int | None = Field(
        default=None, ge=0, le=50, description="Proximity window of multi-word terms."
    )
    examples: Sentences = Field(
        default_factory=list,
        description="Whole sentences that should match by meaning (with monitor[semantic]).",
    )
    not_examples: Sentences = Field(
        default_factory=list,
        alias="not",
        description="Whole sentences that must not match by meaning (with monitor[semantic]); "
        "not phrases, unlike 'exclude'.",
    )
    meaning: MeaningSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"terms": value} if isinstance(value, list) else value


class RuleSpec(_Strict):
    description: str = ""
    all: list[str] = Field(default_factory=list, description="Actors/concepts that must occur.")
    any: list[str] = Field(default_factory=list, description="At least one of these must occur.")
    none: list[str] = Field(default_factory=list, description="None of these may occur.")
    weights: dict[str, float] = Field(default_factory=dict, description="Weight per actor/concept.")
    min_score: float = Field(default=0.0, ge=0)
    fields: list[Literal["title", "body"]] = Field(default=["title", "body"], min_length=1)
    feeds: list[str] = Field(
        default_factory=list, description="Only feeds whose URL or title matches a glob."
    )
    languages: list[str] = Field(default_factory=list, description="Only these languages (en).")

    @model_validator(mode="after")
    def _positive(self) -> RuleSpec:
        if not self.all and not self.any:
            raise ValueError("a rule needs at least one actor or concept in 'all' or 'any'")
        return self


class WatchlistSpec(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"$id": SCHEMA_ID, "title": "monitor watchlist"},
    )

    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=80,
        description="Defaults to the file name.",
    )
    description: str = ""
    languages: list[str] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list)
    near: int = Field(default=5, ge=0, le=50, description="Default proximity window.")
    meaning: MeaningSpec | None = Field(
        default=None, description="Defaults of the concepts' matching by meaning."
    )
    actors: dict[str, ActorObject] = Field(default_factory=dict)
    concepts: dict[str, ConceptObject] = Field(default_factory=dict)
    rules: dict[str, RuleSpec] = Field(min_length=1)


def json_schema() -> dict[str, Any]:
    """The format as JSON Schema, short forms included (a term as a string, a list of terms)."""
    schema = WatchlistSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    defs = schema["$defs"]
    terms = {"type": "array", "items": {"$ref": "#/$defs/TermObject"}}
    defs["TermObject"] = {"anyOf": [{"type": "string"}, defs["TermObject"]]}
    for name in ("ActorObject", "ConceptObject"):
        defs[name] = {"anyOf": [terms, defs[name]]}
    defs["MeaningSpec"] = {"anyOf": [{"type": "boolean"}, defs["MeaningSpec"]]}
    return schema
