"""What a new user meets at the command line: options where they type them, durations
as in monitor.yaml, plain help, and every error in one style with a clear exit status."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import click

from monitor.cli.main import cli
from tests.cli.helpers import config, monitor

WATCHLIST = "name: convoys\nactors:\n  convoy: [convoy]\nrules:\n  seen:\n    all: [convoy]\n"


def _one_error(stderr: str) -> str:
    """The error line: ``error: …`` first, no traceback."""
    assert stderr.startswith("error: ") and "Traceback" not in stderr, stderr
    return stderr.splitlines()[0]


def test_run_all_without_once_is_refused_instead_of_starting_the_daemon(tmp_path: Path) -> None:
    path = config(tmp_path)
    refused = monitor("--config", str(path), "run", "--all", cwd=tmp_path, code=2)
    assert "--all goes with --once" in _one_error(refused.stderr)
    monitor("--config", str(path), "run", "--stats-json", "s.json", cwd=tmp_path, code=2)


def test_config_and_json_logs_are_taken_after_the_command_too(tmp_path: Path) -> None:
    path = config(tmp_path)
    (tmp_path / "watchlists" / "convoys.yaml").write_text(WATCHLIST)
    elsewhere = tmp_path / "elsewhere"  # no monitor.yaml here
    elsewhere.mkdir()
    monitor("feeds", "add", "https://a.example/rss", "--config", str(path), cwd=elsewhere)
    listing = monitor("feeds", "list", "--config", str(path), cwd=elsewhere)
    assert "https://a.example/rss" in listing.stdout
    monitor("run", "--once", "--config", str(path), cwd=elsewhere)
    checked = monitor("check", "--json-logs", "--config", str(path), cwd=elsewhere)
    logged = [json.loads(line) for line in checked.stderr.splitlines()]
    assert any(entry.get("event") == "watchlists.loaded" for entry in logged)


def test_feeds_add_takes_an_interval_as_a_duration(tmp_path: Path) -> None:
    path = config(tmp_path)
    monitor(
        "--config",
        str(path),
        "feeds",
        "add",
        "https://a.example/rss",
        "--interval",
        "15m",
        cwd=tmp_path,
    )
    monitor(
        "--config",
        str(path),
        "feeds",
        "add",
        "https://b.example/rss",
        "--interval",
        "7200",
        cwd=tmp_path,
    )
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        stored = dict(db.execute("SELECT url, interval_s FROM feeds").fetchall())
    assert stored == {"https://a.example/rss": 900, "https://b.example/rss": 7200}
    for wrong in ("10s", "15x", "99999999999999999999999d"):
        refused = monitor(
            "--config",
            str(path),
            "feeds",
            "add",
            "https://c.example/rss",
            "--interval",
            wrong,
            cwd=tmp_path,
            code=2,
        )
        assert "'--interval'" in _one_error(refused.stderr)


def test_help_reads_as_plain_text(tmp_path: Path) -> None:
    """Every command's help (in process: a process per command takes minutes), and the
    one that showed reST quotes through the real command line."""
    pending, seen = [cli], 0
    while pending:
        command = pending.pop()
        with click.Context(command, info_name=command.name) as ctx:
            shown = command.get_help(ctx)
        seen += 1
        assert "``" not in shown and ":class:" not in shown, command.name
        pending += list(getattr(command, "commands", {}).values())
    assert seen > 20
    purge = monitor("articles", "purge", "--help", cwd=tmp_path).stdout
    assert "Set duplicates.purge_bodies_after in monitor.yaml" in purge


def test_errors_share_one_style_and_their_exit_status(tmp_path: Path) -> None:
    path = config(tmp_path)
    usage = monitor("--config", str(path), "feeds", "list", "--bogus", cwd=tmp_path, code=2)
    assert "--bogus" in _one_error(usage.stderr)
    bad_url = monitor(
        "--config", str(path), "feeds", "add", "ftp://x.example/", cwd=tmp_path, code=2
    )
    assert "only http and https" in _one_error(bad_url.stderr)
    missing = monitor(
        "--config", str(path), "feeds", "remove", "https://none.example/", cwd=tmp_path, code=1
    )
    assert "no such feed" in _one_error(missing.stderr)
    (tmp_path / "broken.yaml").write_text("polling:\n  interval: soon\n")
    broken = monitor("--config", str(tmp_path / "broken.yaml"), "check", cwd=tmp_path, code=2)
    assert "broken.yaml" in _one_error(broken.stderr)


def test_huge_numbers_are_usage_errors_not_tracebacks(tmp_path: Path) -> None:
    path = config(tmp_path)
    for command in (
        ["deliveries", "list", "--limit", "999999999999999999999999"],
        ["stories", "list", "--limit", "999999999999999999999999"],
        ["stories", "list", "--since", "99999999999d"],
        ["articles", "export", "--since", "99999999999d"],
        ["articles", "purge", "--older-than", "99999999999w"],
        ["deliveries", "retry", "99999999999999999999"],
    ):
        refused = monitor("--config", str(path), *command, cwd=tmp_path, code=2)
        assert "Invalid value" in _one_error(refused.stderr), command


def test_a_damaged_database_is_one_line_and_is_left_as_it_is(tmp_path: Path) -> None:
    path = config(tmp_path)
    monitor("--config", str(path), "feeds", "add", "https://a.example/rss", cwd=tmp_path)
    database = tmp_path / "monitor.db"
    damaged = database.read_bytes()[:4096] + b"\xa5" * (database.stat().st_size - 4096)
    database.write_bytes(damaged)
    for command in (["feeds", "list"], ["run", "--once"]):
        failed = monitor("--config", str(path), *command, cwd=tmp_path, code=1)
        line = _one_error(failed.stderr)
        assert str(database) in line and "malformed" in line
        assert failed.stderr.count("\n") == 1, failed.stderr
    assert database.read_bytes() == damaged
    garbage = b"not a database at all" * 100
    database.write_bytes(garbage)
    failed = monitor("--config", str(path), "feeds", "list", cwd=tmp_path, code=1)
    assert "file is not a database" in _one_error(failed.stderr)
    assert database.read_bytes() == garbage
