"""Security: hostile input against the places it ends up, through the real command line.

Each scenario runs ``monitor`` as a user does (a subprocess, a config in a fresh
directory, feeds served on loopback) and counts what got through: an escape
sequence that reached the terminal, a secret printed, a pattern that held the
process. (Mail headers: ``tests/reliability/mail.py``.)
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.feedserver import FeedServer, feed
from tests.processes import start_monitor, stop
from tests.reliability.figures import Figure, Scale

WATCHLIST = "actors:\n  convoy: [convoy]\nrules:\n  convoys: {all: [convoy]}\n"
BODY = "A convoy of aid lorries crossed the border at dawn, officials said."
SECRET = "S3cr3tPW"


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    code: int | None  # None: still running at the deadline, killed
    out: str
    err: str
    seconds: float


def monitor(cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
    """``monitor ARGS`` in ``cwd`` as a user runs it, killed at ``timeout``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env={**base, "COLUMNS": "250", **(env or {})},  # a table cell shows a title whole
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        code = None
    text = (out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    return Run(args, code, *text, time.monotonic() - started)


@contextmanager
def configured(
    items: str, routes: str = "", extra: str = "", watchlist: str = WATCHLIST
) -> Iterator[tuple[Path, FeedServer]]:
    """A directory with ``monitor.yaml``, one watchlist and one served RSS feed of ``items``."""
    server = FeedServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="security-") as tmp:
            base = Path(tmp)
            (base / "watchlists").mkdir()
            (base / "watchlists" / "convoys.yaml").write_text(watchlist)
            server.routes["/feed"] = feed(rss_document(items))
            (base / "monitor.yaml").write_text(
                "database: {url: 'sqlite:///monitor.db'}\n"
                "polling: {parse_workers: 0}\n"
                "network: {allow_private: ['127.0.0.1/32']}\n"
                f"{extra}"
                f"feeds:\n  - url: '{server.url('/feed')}'\n"
                + (f"routes:\n{routes}" if routes else "")
            )
            yield base, server
    finally:
        server.stop()


def rss_document(items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Hostile Times</title><link>https://hostile.example/</link>{items}"
        "</channel></rss>"
    ).encode()


def item(n: int, title: str, body: str = BODY) -> str:
    return (
        f"<item><guid>g{n}</guid><title><![CDATA[{title}]]></title>"
        f"<link>https://hostile.example/{n}</link><description><![CDATA[{body}]]></description>"
        "</item>"
    )


# ------------------------------------------------------------------------------- regexes

REDOS_WATCHLIST = (
    "concepts:\n  aaa:\n    terms:\n      - {regex: '(a+)+$'}\nrules:\n  aaa: {all: [aaa]}\n"
)


def regex_backtracking(scale: Scale) -> list[Figure]:
    body = "a" * 5000 + "!"
    timings: list[float] = []
    codes: list[int | None] = []
    for _ in range(max(1, scale.runs // 3)):
        with configured(item(1, "aaaa", body), watchlist=REDOS_WATCHLIST) as (base, _):
            for args in (("run", "--once"), ("watchlist", "test", "watchlists/convoys.yaml")):
                run = monitor(base, *args, timeout=60)
                timings.append(run.seconds)
                codes.append(run.code)
    return [
        Figure(
            "security",
            "A watchlist regex that backtracks for ever, (a+)+$, against 5,000 'a' and a '!': "
            "run --once and watchlist test",
            len(timings),
            f"exit codes {sorted(set(codes), key=str)}; longest {max(timings):.1f} s",
            "each ends, exit 0, within 30 s",
            all(c == 0 for c in codes) and max(timings) < 30,
        )
    ]


# -------------------------------------------------------------------------- the terminal

MARKUP_TITLES = (
    "[bold red]styled[/] convoy",
    "[link=https://evil.example/]click[/link] convoy",
    "[/x] convoy",
    "convoy \x1b]8;;https://evil.example/\x07osc\x1b]8;;\x07",
    "convoy \x1b[31mred\x1b[0m \x9b31mcsi",
)


def json_feed(title: str, titles: Sequence[str]) -> bytes:
    """A JSON Feed: JSON, unlike XML, can carry escape characters to the parser."""
    items = [
        {"id": f"g{n}", "url": f"https://hostile.example/{n}", "title": t, "content_text": BODY}
        for n, t in enumerate(titles)
    ]
    version = "https://jsonfeed.org/version/1.1"
    return json.dumps({"version": version, "title": title, "items": items}).encode()


def terminal_markup(scale: Scale) -> list[Figure]:
    runs: list[Run] = []
    with configured("") as (base, server):
        document = json_feed("[/x] Hostile [bold]Times[/]", MARKUP_TITLES)
        server.routes["/feed"] = feed(document, content_type="application/feed+json")
        for _ in range(max(1, scale.runs // 3)):
            runs.append(monitor(base, "run", "--once", "--all", "--stats-json", "stats.json"))
            runs.append(monitor(base, "feeds", "list"))
            runs.append(monitor(base, "stories", "list", "--all", "--since", "3000w"))
        stats = (base / "stats.json").exists()
        runs.extend(monitor(base, "explain", i) for i in _article_ids(base)[:2])
    failed = [r for r in runs if r.code != 0]
    escapes = sum((r.out + r.err).count("\x1b") + (r.out + r.err).count("\x9b") for r in runs)
    literal = all("[/x] Hostile [bold]Times[/]" in r.out for r in runs if "feeds" in r.args)
    return [
        Figure(
            "security",
            "Feed and article titles with console markup ([bold], [link=...], a stray [/x]) and "
            "ANSI/OSC escapes: run --once, feeds list, stories list, explain",
            len(runs),
            f"{len(failed)} commands failed; {escapes} escape characters printed; markup shown "
            f"as text: {_yes(literal)}; --stats-json written: {_yes(stats)}",
            "every command exits 0, prints the text literally, no escape character",
            not failed and escapes == 0 and literal and stats,
        )
    ]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _article_ids(base: Path) -> list[str]:
    run = monitor(base, "articles", "export", "--format", "jsonl", "--since", "3000w")
    return [json.loads(line)["id"] for line in run.out.splitlines() if line.startswith("{")]


# ------------------------------------------------------------------------------- secrets


def secrets_shown(scale: Scale) -> list[Figure]:
    """A database password and a feed token: printed by check, feeds list and the logs?"""
    database = f"postgresql://postgres:{SECRET}@127.0.0.1:5432/test"
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{SECRET}.db"}
    outputs: list[str] = []
    with configured(item(1, "convoy")) as (base, server):
        _add_secret_to_feed_url(base, server)
        for _ in range(max(1, scale.runs // 3)):
            for args in (("check",), ("run", "--once"), ("feeds", "list")):
                run = monitor(base, *args, env=env)
                outputs.append(run.out + run.err)
            run = monitor(base, "check", env={"MONITOR_DATABASE_URL": database})
            outputs.append(run.out + run.err)
    leaks = sum(_unmasked(o) for o in outputs)
    return [
        Figure(
            "security",
            "A database password (MONITOR_DATABASE_URL) and a feed URL with user:password@ and "
            "?token=: check, run --once (logs included), feeds list",
            len(outputs),
            f"{leaks} outputs showed a secret",
            "no secret printed",
            leaks == 0,
        )
    ]


def _unmasked(output: str) -> bool:
    # The SQLite file is named after the secret: a path is no secret, its URL's is.
    return SECRET in output.replace(f"{SECRET}.db", "")


# ---------------------------------------------------------------------- the HTTP surface

TOKEN = "t0ken-for-the-status-page"
# (path, Host header, with the token, the status a user needs)
REQUESTS = (
    ("/", "evil.example", True, 421),
    ("/metrics", "evil.example:{port}", True, 421),
    ("/", "127.0.0.1:{port}", False, 401),
    ("/metrics", "localhost:{port}", False, 401),
    ("/", "127.0.0.1:{port}", True, 200),
    ("/metrics", "localhost:{port}", True, 200),
    ("/healthz", "evil.example", False, 200),
)
PAGE_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


def http_surface(scale: Scale) -> list[Figure]:
    """The status page and /metrics: another Host (DNS rebinding), no token, headers, secrets."""
    port = _free_port()
    answers: list[tuple[int, int, bool]] = []  # (status, wanted, security headers present)
    leaked = False
    with configured(item(1, "convoy"), extra=f"http: {{enabled: true, port: {port}}}\n") as (
        base,
        server,
    ):
        _add_secret_to_feed_url(base, server)
        daemon = start_monitor(base, "run", env={"MONITOR_HTTP_TOKEN": TOKEN})
        try:
            _wait_healthy(port)
            for _ in range(max(1, scale.runs // 3)):
                for path, host, token, wanted in REQUESTS:
                    status, headers, body = _get(port, path, host.format(port=port), token)
                    answers.append((status, wanted, all(h in headers for h in PAGE_HEADERS)))
                    leaked = leaked or SECRET in body
        finally:
            stop(daemon)
    wrong = sum(status != wanted for status, wanted, _ in answers)
    bare = sum(not present for status, _, present in answers if status != 421)
    return [
        Figure(
            "security",
            "The status page and /metrics asked with a foreign Host: (DNS rebinding), without "
            "the bearer token and with it; /healthz from anywhere; a feed URL with a token",
            len(answers),
            f"{wrong} answers other than 421 / 401 / 200 as wanted; {bare} responses without "
            f"CSP, nosniff and frame headers; secret on the page: {_yes(leaked)}",
            "421 for a foreign host, 401 without the token, headers on every page, no secret",
            wrong == 0 and bare == 0 and not leaked,
        )
    ]


def _add_secret_to_feed_url(base: Path, server: FeedServer) -> None:
    text = (base / "monitor.yaml").read_text()
    secret_url = server.url(f"/feed?token={SECRET}").replace("://", f"://reader:{SECRET}@")
    (base / "monitor.yaml").write_text(text.replace(server.url("/feed"), secret_url))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if _get(port, "/healthz", f"127.0.0.1:{port}", False)[0] == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the daemon's /healthz did not answer within {timeout} s")


def _get(port: int, path: str, host: str, token: bool) -> tuple[int, set[str], str]:
    """(status, header names in lower case, body) of one request with this ``Host:``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Host": host, **({"Authorization": f"Bearer {TOKEN}"} if token else {})}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, {name.lower() for name, _ in response.getheaders()}, body
    finally:
        connection.close()


SCENARIOS = (regex_backtracking, terminal_markup, secrets_shown, http_surface)
