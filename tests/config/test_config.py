"""monitor.yaml: loading, validation with file:line:col, environment overrides."""

from __future__ import annotations

import os
import re
import subprocess
import time
from ipaddress import ip_network
from pathlib import Path
from textwrap import dedent

import pytest

from monitor.config import Config, load
from monitor.core.errors import ConfigError
from monitor.core.yamlsrc import load_text

MONITOR = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "monitor"

VALID = """\
database:
  url: sqlite:///data/monitor.db
polling:
  interval: 10m
  max_body: 1MiB
network:
  allow_private: [10.0.0.0/8]
feeds:
  - url: https://example.com/feed.xml
    title: Example
    interval: 1h
  - url: feeds/local.rss
"""


def write(tmp_path: Path, text: str, name: str = "monitor.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def loaded(tmp_path: Path, text: str = VALID, env: dict[str, str] | None = None) -> Config:
    return load(write(tmp_path, text), env=env or {})


def error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path, env=env or {})
    return info.value.message


def at_line(tmp_path: Path, line: int) -> str:
    return f"{tmp_path / 'monitor.yaml'}:{line}:"


# --- valid files -------------------------------------------------------------


def test_valid_file_loads(tmp_path: Path) -> None:
    config = loaded(tmp_path)
    assert config.settings.polling.interval == 600.0
    assert config.settings.polling.max_body == 2**20
    assert config.policy().networks == (ip_network("10.0.0.0/8"),)
    remote = config.feed_specs()[0]
    assert (remote.url, remote.title, remote.interval_s) == (
        "https://example.com/feed.xml",
        "Example",
        3600,
    )


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = loaded(tmp_path, "")
    assert config.settings.polling.interval == 900
    assert not config.policy().allow_all
    assert config.feed_specs() == []


def test_relative_sqlite_url_resolves_against_config_dir(tmp_path: Path) -> None:
    expected = f"sqlite:///{(tmp_path / 'data' / 'monitor.db').resolve()}"
    assert loaded(tmp_path).database_url == expected


@pytest.mark.parametrize(
    "url",
    ["sqlite:////var/lib/monitor.db", "sqlite:///:memory:", "postgresql://monitor@db/monitor"],
)
def test_absolute_and_server_urls_unchanged(tmp_path: Path, url: str) -> None:
    text = f"database:\n  url: '{url}'\n"
    assert loaded(tmp_path, text).database_url == url


def test_local_feed_path_resolves_against_config_dir(tmp_path: Path) -> None:
    remote, local = loaded(tmp_path).feed_specs()
    assert not remote.local
    assert local.local
    assert local.url == str((tmp_path / "feeds" / "local.rss").resolve())


# --- errors point at file and line -------------------------------------------


def test_unknown_key_names_key_path_and_line(tmp_path: Path) -> None:
    message = error(tmp_path, "polling:\n  interval: 10m\n  intervall: 5m\n")
    assert at_line(tmp_path, 3) in message
    assert "polling.intervall" in message


def test_unknown_key_in_a_feed(tmp_path: Path) -> None:
    text = "feeds:\n  - url: https://a.example/\n  - url: https://b.example/\n    titel: B\n"
    message = error(tmp_path, text)
    assert at_line(tmp_path, 4) in message
    assert "feeds.1.titel" in message


def test_wrong_type_names_line(tmp_path: Path) -> None:
    message = error(tmp_path, "log:\n  level: info\npolling:\n  concurrency: lots\n")
    assert at_line(tmp_path, 4) in message
    assert "polling.concurrency" in message


@pytest.mark.parametrize(
    "setting", ["interval: true", "concurrency: true", "max_body: false", "parse_workers: no"]
)
def test_boolean_is_not_a_number(tmp_path: Path, setting: str) -> None:
    # pydantic's lax mode would read true as 1: a one-second interval.
    assert at_line(tmp_path, 2) in error(tmp_path, f"polling:\n  {setting}\n")


def test_boolean_is_not_a_feed_interval(tmp_path: Path) -> None:
    text = "feeds:\n  - url: https://a.example/\n    interval: true\n"
    assert at_line(tmp_path, 3) in error(tmp_path, text)


def test_bad_duration_names_line_and_value(tmp_path: Path) -> None:
    message = error(tmp_path, "database:\n  url: sqlite:///m.db\npolling:\n  interval: fast\n")
    assert at_line(tmp_path, 4) in message
    assert "'fast'" in message


def test_bad_network_names_line(tmp_path: Path) -> None:
    message = error(
        tmp_path, "log:\n  level: info\nnetwork:\n  allow_private: [10.0.0.0/8, 10.0.0.300/8]\n"
    )
    assert at_line(tmp_path, 4) in message
    assert "10.0.0.300/8" in message


def test_bad_network_in_block_list_names_its_own_line(tmp_path: Path) -> None:
    text = "network:\n  allow_private:\n    - 10.0.0.0/8\n    - 10.0.0.300/8\n"
    message = error(tmp_path, text)
    assert at_line(tmp_path, 4) in message
    assert "network.allow_private.1" in message


def test_bad_network_in_a_feed_block_list_names_its_own_line(tmp_path: Path) -> None:
    text = """\
    feeds:
      - url: https://a.example/
        allow_private:
          - 10.0.0.0/8
          - nonsense
    """
    assert at_line(tmp_path, 5) in error(tmp_path, text)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/feed.xml", "gopher://example.com/"]
)
def test_non_http_feed_url_refused_with_line(tmp_path: Path, url: str) -> None:
    message = error(tmp_path, f"feeds:\n  - url: https://ok.example/feed\n  - url: '{url}'\n")
    assert at_line(tmp_path, 3) in message
    assert url in message


@pytest.mark.parametrize(
    "url",
    ["//example.com/feed.xml", "https:/example.com/feed", "https://", "http://[::1/feed", ""],
)
def test_feed_url_without_scheme_or_host_refused_with_line(tmp_path: Path, url: str) -> None:
    # "//host/x" would otherwise be taken for the local path /host/x.
    message = error(tmp_path, f"feeds:\n  - url: https://ok.example/feed\n  - url: '{url}'\n")
    assert at_line(tmp_path, 3) in message
    assert "feeds.1.url" in message


@pytest.mark.parametrize("path", ["/srv/feeds/a.rss", "feeds/b.rss", "C:/feeds/c.rss"])
def test_local_feed_paths_still_accepted(tmp_path: Path, path: str) -> None:
    (spec,) = loaded(tmp_path, f"feeds:\n  - url: '{path}'\n").feed_specs()
    assert spec.local


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert at_line(tmp_path, 1) in error(tmp_path, "- polling\n- feeds\n")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.yaml"):
        load(tmp_path / "nowhere.yaml", env={})


# --- YAML itself -------------------------------------------------------------


def test_invalid_yaml_reports_line_and_column(tmp_path: Path) -> None:
    # The second colon on line 2 (column 16) is where the YAML breaks.
    message = error(tmp_path, "polling:\n  interval: 10m: x\n")
    assert f"{tmp_path / 'monitor.yaml'}:2:16:" in message


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    message = error(tmp_path, "polling:\n  interval: 10m\npolling:\n  timeout: 5s\n")
    assert at_line(tmp_path, 3) in message
    assert "duplicate" in message


def test_python_tags_are_refused(tmp_path: Path) -> None:
    error(tmp_path, "polling: !!python/object/apply:os.system ['true']\n")


def test_alias_bomb_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    start = time.perf_counter()
    error(tmp_path, "\n".join(lines) + "\n")
    assert time.perf_counter() - start < 2.0


def test_merge_key_values_can_be_overridden(tmp_path: Path) -> None:
    text = """\
    feeds:
      - &base {url: "https://a.example/", interval: 1h}
      - <<: *base
        url: "https://b.example/"
    """
    specs = loaded(tmp_path, text).feed_specs()
    assert [(s.url, s.interval_s) for s in specs] == [
        ("https://a.example/", 3600),
        ("https://b.example/", 3600),
    ]


def test_merge_list_first_mapping_wins_and_own_keys_win() -> None:
    text = """\
    defaults: &slow {interval: 2h, title: Slow}
    fast: &fast {interval: 5m, allow_private: true}
    feeds:
      - url: https://a.example/
        <<: [*slow, *fast]
        title: Mine
    """
    # "defaults" and "fast" are not settings, so check the YAML layer directly.
    feed = load_text(dedent(text), "x").data["feeds"][0]
    assert feed == {
        "url": "https://a.example/",
        "interval": "2h",
        "title": "Mine",
        "allow_private": True,
    }


def test_repeated_own_key_beside_a_merge_is_still_duplicate(tmp_path: Path) -> None:
    text = """\
    feeds:
      - &base {url: "https://a.example/"}
      - <<: *base
        title: A
        title: B
    """
    message = error(tmp_path, text)
    assert at_line(tmp_path, 5) in message
    assert "duplicate" in message


def test_error_in_a_merged_value_points_at_where_it_is_written(tmp_path: Path) -> None:
    text = """\
    feeds:
      - &base {url: "https://a.example/", interval: soon}
      - <<: *base
        url: "https://b.example/"
    """
    assert at_line(tmp_path, 2) in error(tmp_path, text)


def test_alias_cycle_is_an_error(tmp_path: Path) -> None:
    assert "contains it" in error(tmp_path, "feeds: &f [*f]\n")


# --- environment overrides ---------------------------------------------------


def test_env_database_url_wins(tmp_path: Path) -> None:
    url = "postgresql://monitor:secret@db/monitor"
    assert loaded(tmp_path, env={"MONITOR_DATABASE_URL": url}).database_url == url


def test_env_interval_is_a_duration(tmp_path: Path) -> None:
    config = loaded(tmp_path, env={"MONITOR_POLLING_INTERVAL": "5m"})
    assert config.settings.polling.interval == 300.0


def test_env_allow_private_true(tmp_path: Path) -> None:
    assert loaded(tmp_path, env={"MONITOR_NETWORK_ALLOW_PRIVATE": "true"}).policy().allow_all


def test_env_allow_private_networks(tmp_path: Path) -> None:
    env = {"MONITOR_NETWORK_ALLOW_PRIVATE": "10.0.0.0/8, 192.168.0.0/16"}
    policy = loaded(tmp_path, env=env).policy()
    assert not policy.allow_all
    assert policy.networks == (ip_network("10.0.0.0/8"), ip_network("192.168.0.0/16"))


def test_env_override_without_section_in_file(tmp_path: Path) -> None:
    config = loaded(tmp_path, "feeds: []\n", env={"MONITOR_POLLING_TIMEOUT": "2m"})
    assert config.settings.polling.timeout == 120.0


@pytest.mark.parametrize(
    ("name", "value"),
    [("MONITOR_POLLING_INTERVAL", "soon"), ("MONITOR_POLLING_CONCURRENCY", "0")],
)
def test_bad_env_value_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    message = error(tmp_path, VALID, env={name: value})
    assert name in message


def test_bad_env_network_names_the_variable(tmp_path: Path) -> None:
    message = error(tmp_path, VALID, env={"MONITOR_NETWORK_ALLOW_PRIVATE": "10.0.0.0/33"})
    assert "MONITOR_NETWORK_ALLOW_PRIVATE" in message
    assert str(tmp_path / "monitor.yaml") not in message


# --- command line ------------------------------------------------------------


def _cli(tmp_path: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run(
        [str(MONITOR), "--config", str(config), "check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_check_bad_config_exits_2_with_file_and_line(tmp_path: Path) -> None:
    bad = write(tmp_path, "database:\n  url: sqlite:///m.db\npolling:\n  interval: fast\n")
    result = _cli(tmp_path, bad)
    assert result.returncode == 2
    assert re.search(rf"{re.escape(str(bad))}:4:\d+", result.stderr)


def test_cli_check_good_config_exits_0(tmp_path: Path) -> None:
    result = _cli(tmp_path, write(tmp_path, VALID))
    assert result.returncode == 0, result.stderr
