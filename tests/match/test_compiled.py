"""The compiled scan (monitor.match._scan): its word table and its reuse of buffers."""

from __future__ import annotations

import threading

from monitor.match._scan import Lexicon
from monitor.match.index import _spec
from tests.match.helpers import actor, article, concept, hits

TEXTS = [
    "North Korea sent troops to Russia, officials in Seoul said on Monday.",
    "Troops from North Korea were deployed near Kursk, Ukraine's army says.",
    "Straße, café, naïve: words of every kind, and North-Korean troops again.",
    "Nothing to see here: a story about gardening and the weather.",
]


def test_the_word_table_starts_afresh_past_its_limit() -> None:
    plain, matcher = actor("North Korea", "Kursk"), actor("North Korea", "Kursk")
    index = matcher.index
    specs = [_spec(compiled, "en") for compiled in index.patterns]
    index.lexicons["en"] = Lexicon(specs, index.stemmers["en"].stem_word, limit=5)
    for text in TEXTS * 3:
        assert matcher.match(article(text)) == plain.match(article(text))
    assert plain.match(article(TEXTS[0])) and not plain.match(article(TEXTS[3]))
    assert index.lexicons["en"].known_words < 5 + max(len(t.split()) for t in TEXTS) + 2


def test_matchers_used_from_several_threads_agree_with_one() -> None:
    matcher = concept("troop deployment", "sent troops", near=5)
    expected = [hits(matcher.match(article(text))) for text in TEXTS]
    results: list[list[list[str]]] = []

    def work() -> None:
        results.append([hits(matcher.match(article(text))) for text in TEXTS * 50][:4])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4
