"""The address guard inside aiohttp: every answer and every socket is checked.

aiohttp connects to exactly the addresses its resolver returns, so the address
checked here is the one connected to: a second, different DNS answer cannot slip in.
But aiohttp asks no resolver for an IP literal (and httpx turns ``127。0。0。1``
into one), so the socket factory checks each address again as the socket for
it is made: no connection, to a name or a literal, opens without the guard.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from monitor.core.types import AddressPolicy
from monitor.fetch.netguard import address_allowed


class RefusedAddress(OSError):
    """Raised inside aiohttp; the fetcher turns it into BlockedAddressError."""


class GuardedResolver(AbstractResolver):
    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self.inner.resolve(host, port, family)
        allowed = [a for a in answers if address_allowed(a["host"], self.policy)]
        if not allowed:
            addresses = ", ".join(sorted({a["host"] for a in answers}))
            raise RefusedAddress(f"refused: {host} resolves to non-global address {addresses}")
        return allowed

    async def close(self) -> None:
        await self.inner.close()


def guarded_sockets(policy: AddressPolicy) -> Callable[[AddrInfoType], socket.socket]:
    """A socket factory for aiohttp that refuses to make a socket for a forbidden address."""

    def open_socket(addr_info: AddrInfoType) -> socket.socket:
        family, kind, proto, _, address = addr_info
        if not address_allowed(str(address[0]), policy):
            raise RefusedAddress(f"refused: {address[0]} is a non-global address")
        return socket.socket(family=family, type=kind, proto=proto)

    return open_socket
