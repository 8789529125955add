"""Which addresses a fetch may reach.

A feed URL or any redirect hop must not lead to loopback, link-local, private,
CGNAT, multicast or reserved space unless the user allowed it. The check runs on
the *resolved* address, inside the resolver the connection itself uses, so the
address checked is the address connected to (no DNS rebinding window).
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address

from monitor.types import AddressPolicy

IPAddress = IPv4Address | IPv6Address


def embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address hidden in an IPv4-mapped, 6to4, NAT64 or Teredo IPv6 address."""
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_global(address: IPAddress) -> bool:
    inner = embedded_ipv4(address)
    if inner is not None and not is_global(inner):
        return False
    return address.is_global and not address.is_multicast


def address_allowed(address: str, policy: AddressPolicy) -> bool:
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if is_global(parsed) or policy.allow_all:
        return True
    candidates = [parsed]
    inner = embedded_ipv4(parsed)
    if inner is not None:
        candidates.append(inner)
    return any(c in net for c in candidates for net in policy.networks if c.version == net.version)


def literal_address(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal in canonical form, else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
