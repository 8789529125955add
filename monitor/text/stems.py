"""Snowball stemmers (PyStemmer) by language code, behind one small interface.

"deployments", "deployed" and "deploying" all stem to "deploy", so a watchlist
word matches its inflected forms. The article's language picks the stemmer;
unknown or unsupported languages use the configured default.
"""

from __future__ import annotations

from collections.abc import Callable

import Stemmer

# ISO 639-1 codes of the Latin-script (and a few other) languages Snowball knows.
_ALGORITHMS = {
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "tr": "turkish",
}
_AVAILABLE = set(Stemmer.algorithms())
SUPPORTED = frozenset(code for code, name in _ALGORITHMS.items() if name in _AVAILABLE)
_CACHE_LIMIT = 200_000


def language_code(value: str | None) -> str | None:
    """``en-GB``, ``EN_us`` or ``en`` → ``en``; None when there is no code."""
    if not value:
        return None
    return value.strip().replace("_", "-").split("-")[0].lower() or None


class Stems:
    """``word -> stem`` for one language, with a cache for the watchlists' words."""

    def __init__(self, code: str) -> None:
        self._stemmer = Stemmer.Stemmer(_ALGORITHMS[code])
        self._cache: dict[str, str] = {}
        # Uncached, for callers that keep their own (monitor.match._scan.Lexicon).
        self.stem_word: Callable[[str], str] = self._stemmer.stemWord

    def one(self, word: str) -> str:
        found = self._cache.get(word)
        if found is None:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            found = self._cache[word] = self._stemmer.stemWord(word)
        return found
