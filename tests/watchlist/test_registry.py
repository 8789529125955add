"""Watchlists reloaded from their directory: the last good version of each keeps running."""

from __future__ import annotations

import os
from pathlib import Path

from structlog.testing import capture_logs

from monitor.watchlist.registry import Registry
from tests.match.helpers import article

V1 = "actors:\n  ru: [Russia]\nrules:\n  russia: {all: [ru]}\n"
V2 = (
    "actors:\n  ru: [Russia]\n  nk: [North Korea]\n"
    "rules:\n  russia: {all: [ru]}\n  nk: {all: [nk]}\n"
)


def write(path: Path, text: str, age: float = 10.0) -> None:
    path.write_text(text)
    stamp = path.stat().st_mtime - age
    os.utime(path, (stamp, stamp))


def rules(registry: Registry, text: str) -> list[str]:
    return sorted(m.rule for m in registry.matcher.match(article(text)))


def test_a_changed_file_is_reloaded_and_a_bad_edit_keeps_the_last_good_version(
    tmp_path: Path,
) -> None:
    registry = Registry(tmp_path)
    write(tmp_path / "w.yaml", V1)
    assert registry.refresh()
    assert rules(registry, "North Korea and Russia") == ["russia"]

    write(tmp_path / "w.yaml", V2 + "  broken: {all: [nobody]}\n")
    assert not registry.refresh()
    assert "unknown actor or concept 'nobody'" in registry.errors[tmp_path / "w.yaml"]
    assert rules(registry, "North Korea and Russia") == ["russia"]

    write(tmp_path / "w.yaml", V2)
    assert registry.refresh()
    assert registry.errors == {}
    assert rules(registry, "North Korea and Russia") == ["nk", "russia"]


def test_a_file_still_being_written_is_read_once_it_has_settled(tmp_path: Path) -> None:
    now = [0.0]
    registry = Registry(tmp_path, settle=0.5, wall_time=lambda: now[0])
    write(tmp_path / "w.yaml", V1[: len(V1) // 2], age=0)  # half written: valid YAML, no rules
    now[0] = (tmp_path / "w.yaml").stat().st_mtime + 0.1
    assert not registry.refresh()
    assert registry.errors == {} and registry.watchlists == []
    write(tmp_path / "w.yaml", V1, age=0)
    now[0] = (tmp_path / "w.yaml").stat().st_mtime + 1
    assert registry.refresh()
    assert rules(registry, "Russia") == ["russia"]


def test_removing_a_file_removes_its_watchlist_and_others_are_untouched(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    write(tmp_path / "a.yaml", V1)
    write(tmp_path / "b.yml", V2.replace("russia:", "ru_b:"))
    registry.refresh()
    assert rules(registry, "Russia") == ["ru_b", "russia"]
    (tmp_path / "a.yaml").unlink()
    assert registry.refresh()
    assert rules(registry, "Russia") == ["ru_b"]
    assert not registry.refresh()  # nothing changed since


def test_two_files_may_not_use_one_name(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    write(tmp_path / "a.yaml", "name: same\n" + V1)
    write(tmp_path / "b.yaml", "name: same\n" + V2)
    registry.refresh()
    assert [w.source for w in registry.watchlists] == [str(tmp_path / "a.yaml")]
    assert "already used by" in registry.errors[tmp_path / "b.yaml"]
    assert not registry.refresh()  # the refused file is not read and refused again and again


def test_a_file_that_loads_again_is_reported_by_name(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    write(tmp_path / "w.yaml", V1 + "  broken: {all: [nobody]}\n")
    registry.refresh()
    with capture_logs() as logs:
        write(tmp_path / "w.yaml", V1)
        assert registry.refresh()
        assert not registry.refresh()
    recovered = [e for e in logs if e["event"] == "watchlist.recovered"]
    assert recovered == [
        {"event": "watchlist.recovered", "file": str(tmp_path / "w.yaml"), "watchlist": "w",
         "log_level": "info"}
    ]  # fmt: skip


def test_a_name_freed_lets_the_refused_file_in_and_says_so(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    write(tmp_path / "a.yaml", "name: same\n" + V1)
    write(tmp_path / "b.yaml", "name: same\n" + V2)
    registry.refresh()
    with capture_logs() as logs:
        (tmp_path / "a.yaml").unlink()
        assert registry.refresh()
    assert rules(registry, "North Korea and Russia") == ["nk", "russia"]
    assert registry.errors == {}
    assert [e["file"] for e in logs if e["event"] == "watchlist.recovered"] == [
        str(tmp_path / "b.yaml")
    ]
