"""An aiohttp resolver that drops every answer the address policy forbids.

aiohttp connects to exactly the addresses its resolver returns, so the address
checked here is the one connected to: a second, different DNS answer cannot slip in.
"""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from monitor.netguard import address_allowed
from monitor.types import AddressPolicy


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
