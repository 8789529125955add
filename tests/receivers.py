"""Real loopback receivers for alert-delivery tests: an SMTP server and a webhook endpoint.

Both run in threads of the test process, listen on 127.0.0.1 with ephemeral ports, record
what they accept, and can be told to misbehave (fail, hang, drop) at any moment, so delivery
code is exercised against real sockets, real TLS and real protocol replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import ssl
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Generic, Literal, Self, TypeVar, cast

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
T = TypeVar("T")


class _Recorder(Generic[T]):
    """A thread-safe list that tests can wait on."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._cond = threading.Condition()

    def append(self, item: T) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def snapshot(self) -> list[T]:
        with self._cond:
            return list(self._items)

    def wait_for(self, count: int, timeout: float, keep: Callable[[T], bool], what: str) -> list[T]:
        with self._cond:
            if not self._cond.wait_for(
                lambda: sum(map(keep, self._items)) >= count, timeout=timeout
            ):
                got = sum(map(keep, self._items))
                raise AssertionError(f"expected {count} {what} within {timeout}s, got {got}")
            return [item for item in self._items if keep(item)]


# --------------------------------------------------------------------------------------- SMTP

SmtpMode = Literal["ok", "tempfail", "permfail", "hang", "drop"]
_REPLIES = {"tempfail": "451 4.3.0 try again later", "permfail": "550 5.7.1 rejected"}


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    received_at: float  # time.monotonic()


class _ThreadedController(Controller):
    def _trigger_server(self) -> None:
        # We bind port 0 so the OS picks a free port; aiosmtpd's readiness probe
        # connects to self.port, so learn the real one first.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class _SmtpHandler:
    """aiosmtpd hooks. Kept apart from SmtpReceiver because aiosmtpd scans its handler
    with inspect.getmembers(), which would evaluate the receiver's properties."""

    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # We enforce "AUTH before MAIL" here rather than with aiosmtpd's auth_required,
        # which cannot be combined with implicit TLS without a security warning.
        if self.receiver.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        rec = self.receiver
        mode = rec._take_mode()
        while mode == "hang":
            # Never answer until a test calls set_mode(); stop() cancels this task.
            generation = rec._generation
            while rec._generation == generation:
                await asyncio.sleep(0.02)
            mode = rec._mode
        if mode == "drop":
            # Abort the connection with no reply; connection_lost() then cancels this task.
            cast(asyncio.Transport, server.transport).abort()
            await asyncio.Future()
        if mode in _REPLIES:
            return _REPLIES[mode]
        raw = cast(bytes, envelope.original_content)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        mail = ReceivedMail(
            envelope.mail_from or "", list(envelope.rcpt_tos), raw, message, time.monotonic()
        )
        rec._messages.append(mail)  # recorded before "250" so a client never outruns it
        return "250 2.0.0 OK queued"


class SmtpReceiver:
    """An SMTP server in a thread, with a throwaway CA whose certificate clients can trust."""

    host = HOST

    def __init__(
        self,
        tls: Literal["starttls", "implicit", "none"],
        auth: tuple[str, str] | None = None,
    ) -> None:
        if auth is not None and tls == "none":
            raise ValueError("AUTH is only offered over TLS")
        self.tls = tls
        self.auth = auth
        self.ca = trustme.CA()
        self._server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("localhost", "127.0.0.1").configure_cert(self._server_ctx)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._messages: _Recorder[ReceivedMail] = _Recorder()
        self._lock = threading.Lock()
        self._mode: SmtpMode = "ok"
        self._generation = 0  # bumped by set_mode(), wakes hanging DATA handlers
        self._fail_left = 0
        self._fail_mode: SmtpMode = "ok"
        self._controller: _ThreadedController | None = None

    # ---- lifecycle
    def start(self) -> Self:
        self._tmp = tempfile.TemporaryDirectory(prefix="smtp-ca-")
        self.ca.cert_pem.write_to_path(str(Path(self._tmp.name) / "ca.pem"))
        kwargs: dict[str, Any] = {}
        if self.tls == "implicit":
            kwargs["ssl_context"] = self._server_ctx
            # aiosmtpd counts only STARTTLS as "encrypted"; here every byte already is.
            kwargs["auth_require_tls"] = False
        elif self.tls == "starttls":
            kwargs.update(tls_context=self._server_ctx, require_starttls=True)
        if self.auth is not None:
            kwargs["authenticator"] = self._authenticate
        self._controller = _ThreadedController(
            _SmtpHandler(self), hostname=HOST, port=0, server_hostname="localhost", **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()  # cancels every session task, hanging ones included
            self._controller = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- what tests read
    @property
    def port(self) -> int:
        assert self._controller is not None, "not started"
        return int(self._controller.port)

    @property
    def ca_pem_path(self) -> str:
        """PEM of the test CA; valid between start() and stop()."""
        assert self._tmp is not None, "not started"
        return str(Path(self._tmp.name) / "ca.pem")

    def client_context(self) -> ssl.SSLContext:
        """A client SSL context that trusts the test CA (and nothing else)."""
        return ssl.create_default_context(cafile=self.ca_pem_path)

    @property
    def messages(self) -> list[ReceivedMail]:
        return self._messages.snapshot()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        return self._messages.wait_for(count, timeout, lambda _: True, "messages")

    # ---- behaviour
    def set_mode(self, mode: SmtpMode) -> None:
        """How DATA is answered from now on (pending fail_next() still go first)."""
        with self._lock:
            self._mode = mode
            self._generation += 1

    def fail_next(self, n: int, mode: SmtpMode) -> None:
        """Answer the next ``n`` DATA commands with ``mode``, then the set mode (normally ok)."""
        with self._lock:
            self._fail_left, self._fail_mode = n, mode

    def _take_mode(self) -> SmtpMode:
        with self._lock:
            if self._fail_left > 0:
                self._fail_left -= 1
                return self._fail_mode
            return self._mode

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        # Built-in LOGIN and PLAIN hand us a LoginPassword of bytes.
        ok = (
            mechanism in ("LOGIN", "PLAIN")
            and isinstance(data, LoginPassword)
            and self.auth == (data.login.decode(), data.password.decode())
        )
        return AuthResult(success=ok, auth_data=data if ok else None, handled=False)


# ------------------------------------------------------------------------------------ Webhook


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int  # what was answered
    received_at: float  # time.monotonic()


@dataclass(frozen=True)
class _Scripted:
    status: int = 200
    retry_after: str | None = None
    hang_s: float = 0.0


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # stop() never waits for handler threads
    receiver: WebhookReceiver


class _WebhookHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real webhook endpoints
    timeout = 10  # a client that stalls mid-request cannot pin a thread forever
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.receiver._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.receiver._track(self.connection, add=False)
        with contextlib.suppress(OSError):  # the client left first
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean

    def do_POST(self) -> None:
        rec = self.server.receiver
        body = self._read_body()
        if body is None:  # incomplete request: not recorded, not answered
            self.close_connection = True
            return
        step = rec._next_step()
        if step.hang_s and rec._stopping.wait(step.hang_s):
            self.close_connection = True  # stop() interrupted the hang: no answer
            return
        rec._requests.append(
            ReceivedRequest(
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                body,
                step.status,
                time.monotonic(),
            )
        )
        payload = f"{step.status}\n".encode()
        try:
            self.send_response(step.status)
            if step.retry_after is not None:
                self.send_header("Retry-After", step.retry_after)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client gave up (e.g. timed out) meanwhile

    def _read_body(self) -> bytes | None:
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            return body if len(body) == length else None
        except (OSError, ValueError):
            return None


class WebhookReceiver:
    """An HTTP/1.1 server in a thread that accepts POST on any path and follows a script."""

    host = HOST

    def __init__(self) -> None:
        self.default_status = 200  # answer when nothing is scripted
        self._requests: _Recorder[ReceivedRequest] = _Recorder()
        self._script: deque[_Scripted] = deque()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._stopping.clear()
        self._server = _HttpServer((HOST, 0), _WebhookHandler)
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # releases hanging handlers
        self._server.shutdown()
        self._server.server_close()
        with self._lock:  # wake handler threads blocked on idle keep-alive connections
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        assert self._thread is not None
        self._thread.join(2)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://{HOST}:{self.port}{path}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        return self._requests.snapshot()

    def accepted(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """Wait until ``count`` requests were answered 2xx; returns those."""
        return self._requests.wait_for(
            count, timeout, lambda r: 200 <= r.status < 300, "accepted requests"
        )

    def respond(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (after anything already queued)."""
        with self._lock:
            self._script.extend([_Scripted(status, retry_after)] * times)

    def hang(self, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` requests ``seconds`` (or until stop()), then answer 200.
        A request answered after its client timed out is still recorded, as a real
        endpoint would have processed it."""
        with self._lock:
            self._script.extend([_Scripted(200, hang_s=seconds)] * times)

    def _next_step(self) -> _Scripted:
        with self._lock:
            return self._script.popleft() if self._script else _Scripted(self.default_status)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)


# Fixtures: each receiver started before and stopped after a test (conftest.py imports them).
SMTP_AUTH = ("monitor", "s3cret")


@pytest.fixture
def smtp_starttls() -> Iterator[SmtpReceiver]:
    with SmtpReceiver("starttls", auth=SMTP_AUTH) as receiver:
        yield receiver


@pytest.fixture
def smtp_implicit() -> Iterator[SmtpReceiver]:
    with SmtpReceiver("implicit", auth=SMTP_AUTH) as receiver:
        yield receiver


@pytest.fixture
def smtp_plain() -> Iterator[SmtpReceiver]:
    with SmtpReceiver("none") as receiver:
        yield receiver


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_credentials(monkeypatch: pytest.MonkeyPatch) -> str:
    """The route settings naming the variables that hold the SMTP login (set here)."""
    monkeypatch.setenv("TEST_SMTP_USER", SMTP_AUTH[0])
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_AUTH[1])
    return "username_env: TEST_SMTP_USER, password_env: TEST_SMTP_PASSWORD"
