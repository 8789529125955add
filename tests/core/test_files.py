"""A user's file read with a cap: refused, naming the file, past the cap or unreadable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.core.errors import ConfigError, WatchlistError
from monitor.core.files import read_capped
from monitor.watchlist.load import load_watchlist


def test_a_file_at_the_cap_is_read_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_bytes(b"x" * 10)
    assert read_capped(path, 10) == b"x" * 10
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: larger than 9 bytes$"):
        read_capped(path, 9)


def test_a_missing_file_is_named_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: cannot read: No such file"):
        read_capped(tmp_path / "nowhere.yaml", 10)


def test_a_huge_watchlist_is_a_watchlist_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("monitor.watchlist.load.MAX_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text("concepts:\n  c: [" + "x, " * 200 + "y]\n")
    with pytest.raises(WatchlistError, match=r"big\.yaml: larger than 100 bytes"):
        load_watchlist(path)
