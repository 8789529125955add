"""Run the command line as a user does: a real process, a temporary config and database."""

from __future__ import annotations

import os
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

ESC = "\x1b"


def monitor(
    *args: str, cwd: Path, env: dict[str, str] | None = None, code: int | None = 0
) -> subprocess.CompletedProcess[str]:
    """``monitor ARGS`` in ``cwd``; asserts the exit status unless ``code`` is None."""
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=clean_env | {"COLUMNS": "200"} | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if code is not None:
        assert result.returncode == code, result.stdout + result.stderr
    return result


def config(tmp_path: Path, *feeds: str, extra: str = "") -> Path:
    """A monitor.yaml under ``tmp_path`` (database and digests beside it); returns its path."""
    lines = [
        f"database:\n  url: sqlite:///{tmp_path}/monitor.db",
        "polling:\n  parse_workers: 1\n  check_every: 1s",
        "network:\n  allow_private: [127.0.0.2/32]",
        f"watchlists:\n  dir: {tmp_path}/watchlists",
        extra,
        "feeds:" if feeds else "",
        *[f"  - url: {f}" for f in feeds],
    ]
    (tmp_path / "watchlists").mkdir(exist_ok=True)
    path = tmp_path / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class RawServer:
    """Answers every connection with ``response``, byte for byte (aiohttp refuses to send
    control characters in a reason phrase, which is exactly what a hostile server does)."""

    def __init__(self, response: bytes, host: str = "127.0.0.2") -> None:
        self.response = response
        self._server = socketserver.ThreadingTCPServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handler(self) -> type[socketserver.BaseRequestHandler]:
        response = self.response

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.recv(65536)
                self.request.sendall(response)

        return Handler
