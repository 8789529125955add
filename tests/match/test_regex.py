"""Regular expression terms: run by RE2, in time linear in the text, whatever the pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.core.errors import WatchlistError
from monitor.match.regex import compile_regex
from monitor.watchlist.load import load_watchlist
from tests.cli.test_commands import monitor
from tests.match.helpers import article, matched_text, matcher
from tests.processes import start_monitor, stop
from tests.watchlist.test_watchlist_cli import exported_one, matched, user_dir, wait_for

# Python's re backtracks on this for longer than the universe has left; RE2 does not.
CATASTROPHIC = "a" * 5000 + "!"
WATCHLIST = """\
concepts:
  never: [{regex: '(a+)+$'}]
  bang: [{regex: '(a+)+!'}]
rules:
  never: {all: [never]}
  bang: {all: [bang]}
"""
LETTERS = {"guid": "one", "title": "Letters", "description": CATASTROPHIC}


def test_a_catastrophic_pattern_neither_hangs_run_once_nor_watchlist_test(
    tmp_path: Path,
) -> None:
    user_dir(tmp_path, WATCHLIST, LETTERS)
    # A hang would pass the helper's timeout (120 s); RE2 takes milliseconds.
    monitor("run", "--once", cwd=tmp_path)
    stored = exported_one(tmp_path)
    assert [m["rule"] for m in stored["matches"]] == ["bang"]

    replay = monitor("watchlist", "test", str(tmp_path / "watchlists" / "w.yaml"), cwd=tmp_path)
    assert "│ never │        0 │" in replay.stdout
    assert "│ bang  │        1 │" in replay.stdout


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(?<=North )Korea", "lookbehind is not supported"),
        ("Korea(?! Herald)", "lookahead is not supported"),
        (r"(\w+) \1", "backreferences are not supported"),
        ("T-(72", "missing )"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_naming_the_file_and_line(
    tmp_path: Path, pattern: str, why: str
) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(
        "actors:\n  nk: [North Korea]\nconcepts:\n  c:\n"
        f"    - Pyongyang\n    - {{regex: '{pattern}'}}\nrules:\n  r: {{all: [nk, c]}}\n"
    )
    with pytest.raises(WatchlistError) as caught:
        load_watchlist(path)
    assert f"{path}:6:7: bad regular expression (RE2 syntax): " in caught.value.message
    assert why in caught.value.message


def test_a_refused_pattern_is_reported_by_check_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "monitor.yaml").write_text("feeds: []\n")
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "look.yaml").write_text(
        "concepts:\n  c: [{regex: '(?<=North )Korea'}]\nrules:\n  r: {all: [c]}\n"
    )
    result = monitor("check", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "look.yaml:2:7: bad regular expression (RE2 syntax)" in result.stderr
    assert "lookbehind is not supported" in result.stderr


def test_a_regex_ignores_case_unless_told_and_hits_land_on_the_stored_text() -> None:
    loose = matcher("concepts:\n  c: [{regex: 'kursk'}]\nrules:\n  r: {all: [c]}\n")
    strict = matcher("concepts:\n  c: [{regex: 'kursk', case: true}]\nrules:\n  r: {all: [c]}\n")
    text = article("Zelenskyý said: KURSK, Kursk; Łódź and kursk")
    assert matched_text(loose.match(text), text) == ["KURSK", "Kursk", "kursk"]
    assert matched_text(strict.match(text), text) == ["kursk"]


def test_the_daemon_matches_past_a_catastrophic_pattern_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    settings = "polling: {interval: 1s, min_interval: 1s, check_every: 1s, parse_workers: 0}\n"
    user_dir(tmp_path, WATCHLIST, LETTERS, settings=settings)
    log = tmp_path / "daemon.log"
    with log.open("w") as err:
        daemon = start_monitor(tmp_path, "run", stderr=err)
    try:
        db = tmp_path / "corpus" / "monitor.db"
        wait_for(lambda: ("one", "bang") in matched(db), "the match", timeout=60)
    finally:
        stopped = stop(daemon)
    assert stopped.returncode == 0, log.read_text()
    assert ("one", "never") not in matched(db)


def test_a_lone_surrogate_in_the_text_neither_crashes_nor_shifts_the_hits() -> None:
    # Found by the matcher fuzz: RE2 reads UTF-8, which cannot hold "\ud800".
    regex = compile_regex(r"\bT-\d+", match_case=False)
    assert list(regex.spans("\ud800 t-72 tanks")) == [(2, 6)]
