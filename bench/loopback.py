"""What the benchmarks' loopback HTTP servers share: the server side (raw
``asyncio.Protocol``, HTTP/1.1 with keep-alive and pipelining, uvloop where
installed) and the process that runs one, for a ``with`` block.

Raw protocol rather than a framework: the server shares the 2-core machine with
what is measured, and must stay cheap next to it (about 15,000 responses a second).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any

from bench.results import ROOT

MAX_HEAD = 64 * 1024
# method, path (no query), headers (names in lower case) -> the whole response
Responder = Callable[[str, str, dict[str, str]], bytes]


def etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20] + '"'


def response(
    status: str,
    body: bytes,
    ctype: str,
    extra: str = "",
    *,
    date: str | None = None,
    head: bool = False,
) -> bytes:
    """Status line, headers (``extra`` ones end in CRLF) and, unless ``head``, the body."""
    lines = f"HTTP/1.1 {status}\r\n" + (f"Date: {date}\r\n" if date else "")
    lines += f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return lines.encode() if head else lines.encode() + body


class HTTPProtocol(asyncio.Protocol):
    """One connection: requests answered in order; request bodies read and ignored."""

    def __init__(self, respond: Responder, connected: Callable[[], None] = lambda: None) -> None:
        self.respond = respond
        self.connected = connected
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.connected()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        out: list[bytes] = []
        close = False
        while not close:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                close = len(self.buf) > MAX_HEAD
                break
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < end + 4 + length:
                break  # the rest of the request's body (a webhook's) is still to come
            self.buf = self.buf[end + 4 + length :]
            try:
                method, target, version = lines[0].split(" ")
            except ValueError:
                out.append(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                close = True
                break
            out.append(self.respond(method, target.split("?", 1)[0], headers))
            conn = headers.get("connection", "").lower()
            close = conn == "close" or (version == "HTTP/1.0" and conn != "keep-alive")
        if self.transport is not None:
            if out:
                self.transport.writelines(out)
            if close:
                self.transport.close()


async def serve(
    protocol: Callable[[], asyncio.Protocol],
    host: str,
    port: int,
    listening: Callable[[int], None],
) -> None:
    """Serve until killed; ``listening(port)`` once bound (port 0: any free one)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, host, port)
    listening(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run the server on uvloop where installed, else asyncio; Ctrl-C ends it quietly."""
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        runner(main)
    except KeyboardInterrupt:
        sys.exit(0)


def say_port(port: int) -> None:
    """What the parent waits for (ServerProcess) once the server is listening."""
    print(f"PORT {port}", flush=True)


class ServerProcess:
    """``python -m MODULE ARGS`` serving ``feeds`` feeds at /feeds/{i}.xml on 127.0.0.1,
    started by ``start()`` (returns once it says ``PORT n``) and ended by ``close()``."""

    def __init__(self, name: str, module: str, args: Sequence[str], feeds: int) -> None:
        self.name, self.module, self.args, self.feeds = name, module, list(args), feeds
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> None:
        cmd = [sys.executable, "-m", self.module, *self.args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks while the feeds are rendered
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"the {self.name} did not start (said {line!r})")
        self.port = int(line.split()[1])

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else -1

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def urls(self) -> list[str]:
        return [self.url(f"/feeds/{i}.xml") for i in range(self.feeds)]

    def get_json(self, path: str, timeout: float, attempts: int = 1) -> Any:
        """GET ``path`` as JSON; a refused or reset connection is tried again, 0.2 s on."""
        for attempt in range(attempts):
            try:
                with urllib.request.urlopen(self.url(path), timeout=timeout) as resp:
                    return json.load(resp)
            except OSError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")
