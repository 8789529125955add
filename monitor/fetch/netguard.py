"""Which addresses a fetch may reach.

A feed URL or any redirect hop must not lead to loopback, link-local, private,
CGNAT, multicast or reserved space unless the user allowed it. The check runs on
the *resolved* address, inside the resolver the connection itself uses, so the
address checked is the address connected to (no DNS rebinding window).
"""

from __future__ import annotations

import ipaddress
import socket
from ipaddress import IPv4Address, IPv6Address

from monitor.core.types import AddressPolicy

IPAddress = IPv4Address | IPv6Address


# Translators reach the IPv4 address in the last 32 bits (RFC 6052 well-known
# prefix; RFC 8215 local-use prefix, judged the same way).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address hidden in an IPv4-mapped, NAT64, 6to4 or Teredo IPv6 address."""
    if isinstance(address, IPv4Address):
        return None
    translated = _translated_ipv4(address)
    return translated if translated is not None else _tunnelled_ipv4(address)


def _translated_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address that this IPv6 address is only another spelling of."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in net for net in _NAT64):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    return address.teredo[1] if address.teredo is not None else None


def is_global(address: IPAddress) -> bool:
    if isinstance(address, IPv4Address):
        return address.is_global and not address.is_multicast and not address.is_reserved
    translated = _translated_ipv4(address)
    if translated is not None:
        return is_global(translated)
    tunnelled = _tunnelled_ipv4(address)
    if tunnelled is not None and not is_global(tunnelled):
        return False
    # Python 3.11.7 calls IETF-reserved IPv6 global: ::/8 holds the deprecated
    # IPv4-compatible (::a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d) forms.
    # Site-local fec0::/10 is deprecated, not gone from every network.
    if address.is_reserved or address.is_multicast or address.is_site_local:
        return False
    return address.is_global


def address_allowed(address: str, policy: AddressPolicy) -> bool:
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return ip_allowed(parsed, policy)


def ip_allowed(address: IPAddress, policy: AddressPolicy) -> bool:
    """``address_allowed`` for an address already parsed."""
    if policy.allow_all or is_global(address):
        return True
    candidates = [address]
    inner = embedded_ipv4(address)
    if inner is not None:
        candidates.append(inner)
    return any(c in net for c in candidates for net in policy.networks if c.version == net.version)


def literal_address(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal in canonical form, else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def host_address(host: str) -> IPAddress | None:
    """The address a connection to ``host`` reaches whatever DNS says, else None.

    ``host`` as the HTTP client normalised it. Besides IP literals: the legacy
    numeric IPv4 forms (decimal ``2130706433``, hex, octal, short ``127.1``) that
    inet_aton, and so the system resolver, reads as an address; and the
    ``localhost`` names, loopback by RFC 6761. Known without a lookup, they are
    refused before anything is stored or connected.
    """
    literal = literal_address(host)
    if literal is not None:
        return literal
    bare = (host[:-1] if host.endswith(".") else host).lower()
    if bare == "localhost" or bare.endswith(".localhost"):
        return IPv4Address("127.0.0.1")
    if bare and set(bare) <= _NUMERIC_CHARS:
        try:
            return IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


_NUMERIC_CHARS = frozenset("0123456789abcdefx.")
