"""Who may read the HTTP surface, and what every response tells the browser.

- ``Host:`` must name this server (the bind address, ``localhost``, 127.0.0.1,
  ``::1``, or a configured name): a page on another site whose name was rebound
  to 127.0.0.1 (DNS rebinding) sends its own name and gets 421, with no body
  that repeats what it sent.
- An optional bearer token guards the status page and ``/metrics``; the health
  probes stay open (orchestrators call them by address and without secrets, and
  they tell nothing). The token is compared in constant time.
- Every response carries a Content-Security-Policy that allows no script, no
  frame (``frame-ancestors 'none'``) and only the page's own nonce-marked
  style, plus ``nosniff``, ``X-Frame-Options`` and ``Referrer-Policy``.

The decisions (``host_allowed``, ``token_matches``) are pure; the aiohttp glue
is the middleware and the response hook at the end.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

# Probes for orchestrators: no Host check, no token.
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
ANY_HOST = "*"
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})  # noqa: S104 (names, not a bind)
_LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Access:
    hosts: frozenset[str]  # lower case, no port, no brackets, no trailing dot; "*": any
    token: str | None = None

    @classmethod
    def of(cls, bind: str, extra: Iterable[str] = (), token: str | None = None) -> Access:
        """The names this server answers to: its bind address unless it is a
        wildcard, localhost and loopback, and ``extra`` (``http.allowed_hosts``)."""
        names = [*_LOCAL_NAMES, *extra]
        if bind not in _WILDCARD_BINDS:
            names.append(bind)
        return cls(frozenset(_bare(name) for name in names), token or None)


def host_allowed(header: str | None, hosts: frozenset[str]) -> bool:
    """Whether a ``Host:`` header names this server, with or without a port."""
    if ANY_HOST in hosts:
        return True
    if not header or not header.isascii():
        return False
    name, port = _split_host(header)
    return name in hosts and (port == "" or port.isdigit())


def token_matches(authorization: str | None, token: str) -> bool:
    """``Authorization: Bearer TOKEN``, or Basic with TOKEN as the password (so a
    browser's login prompt opens the status page), compared in constant time."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme == "basic":
        credentials = _basic_password(credentials)
    elif scheme != "bearer":
        return False
    return hmac.compare_digest(credentials.encode(), token.encode())


def _basic_password(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


def _split_host(header: str) -> tuple[str, str]:
    header = header.strip()
    if header.startswith("["):
        inside, _, rest = header[1:].partition("]")
        return _bare(inside), rest.removeprefix(":") if rest.startswith(":") else rest
    name, _, port = header.rpartition(":") if header.count(":") == 1 else (header, "", "")
    return _bare(name), port


def _bare(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


def middleware(access: Access) -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        if not host_allowed(request.headers.get("Host"), access.hosts):
            # Nothing of the request is echoed: the header is the attacker's text.
            return web.Response(status=421, text="misdirected request: unknown host name\n")
        if access.token and not token_matches(request.headers.get("Authorization"), access.token):
            return web.Response(
                status=401,
                text="unauthorized: this page needs the bearer token (http.token)\n",
                headers=[
                    ("WWW-Authenticate", 'Bearer realm="monitor"'),
                    ("WWW-Authenticate", 'Basic realm="monitor", charset="UTF-8"'),
                ],
            )
        return await handler(request)

    return guard


NONCE_KEY = web.RequestKey("csp_nonce", str)


def style_nonce(request: web.Request) -> str:
    """A fresh nonce for the page's ``<style>``, named in its response's CSP."""
    nonce = request[NONCE_KEY] = secrets.token_urlsafe(16)
    return nonce


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, errors included (an ``on_response_prepare`` hook)."""
    nonce = request.get(NONCE_KEY)
    style = f"'nonce-{nonce}'" if nonce else "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {style}; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
