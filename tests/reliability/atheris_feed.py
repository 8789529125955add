"""Coverage-guided fuzzing of the feed parser (atheris, libFuzzer), for the report.

    python -m tests.reliability.atheris_feed CORPUS_DIR -max_total_time=60

Each input is fed to the in-process parser (monitor.parse.feeds.parse_feed, no
worker pool) and the parsed feed checked as in tests.reliability.test_fuzz: a
ParseError is a fine answer, any other exception or broken cap is a crash.
atheris is optional (not a dependency of the project): this module is only run
when it is installed.
"""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

with atheris.instrument_imports(include=["feedparser", "sgmllib", "monitor", "w3lib"]):
    from tests.reliability.test_fuzz import check_parse

CONTENT_TYPES = [None, "application/rss+xml", "application/json", "text/html; charset=koi8-r"]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    check_parse((data[1:], CONTENT_TYPES[data[0] % len(CONTENT_TYPES)]))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
