"""Which resolved addresses a fetch may reach (SSRF guard)."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address, ip_network

import pytest

from monitor.core.types import AddressPolicy
from monitor.fetch.netguard import (
    address_allowed,
    embedded_ipv4,
    host_address,
    is_global,
    literal_address,
)

DEFAULT = AddressPolicy()
ALLOW_ALL = AddressPolicy(allow_all=True)
ONLY_127_0_0_2 = AddressPolicy(networks=(ip_network("127.0.0.2/32"),))

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.1.2.3", "loopback /8"),
    ("::1", "IPv6 loopback"),
    ("0.0.0.0", "unspecified"),
    ("::", "IPv6 unspecified"),
    ("10.0.0.1", "10/8"),
    ("10.255.255.255", "10/8 top"),
    ("172.16.0.1", "172.16/12"),
    ("172.31.255.254", "172.16/12 top"),
    ("192.168.1.1", "192.168/16"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT top"),
    ("169.254.169.254", "cloud metadata"),
    ("fe80::1", "IPv6 link-local"),
    ("fe80::1%eth0", "link-local with zone"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local fd"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:7f00:1", "IPv4-mapped loopback, hex"),
    ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("::ffff:169.254.169.254", "IPv4-mapped metadata"),
    ("2002:7f00:0001::", "6to4 of loopback"),
    ("2002:a00:1::1", "6to4 of 10.0.0.1"),
    ("64:ff9b::7f00:1", "NAT64 of loopback"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of metadata"),
    ("2001:0000:4136:e378:8000:63bf:3fff:fdd2", "Teredo to 192.0.2.45"),
    ("2001:0000:4136:e378:8000:63bf:f5ff:fffe", "Teredo to 10.0.0.1"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "SSDP multicast"),
    ("ff02::1", "IPv6 multicast"),
    ("255.255.255.255", "broadcast"),
    ("198.18.0.1", "benchmark"),
    ("192.0.2.1", "TEST-NET-1"),
    ("198.51.100.1", "TEST-NET-2"),
    ("203.0.113.1", "TEST-NET-3"),
    ("2001:db8::1", "IPv6 documentation"),
    ("240.0.0.1", "reserved class E"),
]

ALLOWED = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "172.32.0.1", "::ffff:8.8.8.8"]

GARBAGE = [
    "",
    "localhost",
    "example.com",
    "999.1.1.1",
    "1.2.3",
    "127.1",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "2130706433",
    " 127.0.0.1",
    "127.0.0.1.",
    "[::1]",
    "::ffff:999.0.0.1",
    "not an address",
]


@pytest.mark.parametrize(("address", "why"), REFUSED, ids=[why for _, why in REFUSED])
def test_non_global_address_refused_by_default(address: str, why: str) -> None:
    assert not address_allowed(address, DEFAULT)


@pytest.mark.parametrize("address", ALLOWED)
def test_global_address_allowed(address: str) -> None:
    assert address_allowed(address, DEFAULT)


@pytest.mark.parametrize("address", [a for a, _ in REFUSED] + ALLOWED)
def test_allow_all_allows_every_address(address: str) -> None:
    assert address_allowed(address, ALLOW_ALL)


@pytest.mark.parametrize("address", GARBAGE)
def test_garbage_is_refused_even_when_all_allowed(address: str) -> None:
    assert not address_allowed(address, DEFAULT)
    assert not address_allowed(address, ALLOW_ALL)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.2", True),
        ("::ffff:127.0.0.2", True),
        ("64:ff9b:1::7f00:2", True),
        ("::127.0.0.2", False),
        ("127.0.0.1", False),
        ("127.0.0.3", False),
        ("::ffff:127.0.0.1", False),
        ("::1", False),
        ("10.0.0.1", False),
        ("8.8.8.8", True),
    ],
)
def test_allowed_network_admits_only_itself(address: str, allowed: bool) -> None:
    assert address_allowed(address, ONLY_127_0_0_2) is allowed


def test_allowed_ipv6_network() -> None:
    policy = AddressPolicy(networks=(ip_network("fd00::/8"),))
    assert address_allowed("fd00::5", policy)
    assert not address_allowed("fc00::5", policy)
    assert not address_allowed("10.0.0.1", policy)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b:1::a00:1",
        "64:ff9b:1:abcd::7f00:1",
        "::127.0.0.1",
        "::8.8.8.8",
        "::ffff:0:7f00:1",
        "::ffff:0:808:808",
        "fec0::1",
        "feff:ffff::1",
        "100::1",
        "5f00::1",
        "4000::1",
    ],
    ids=[
        "local-use NAT64 of 10.0.0.1",
        "local-use NAT64 /96 of loopback",
        "IPv4-compatible loopback",
        "IPv4-compatible global",
        "IPv4-translated loopback",
        "IPv4-translated global",
        "site-local",
        "site-local top",
        "discard-only",
        "reserved SRv6",
        "reserved 4000::/3",
    ],
)
def test_reserved_ipv6_forms_refused(address: str) -> None:
    # Python 3.11.7's ipaddress calls most of these global.
    assert not address_allowed(address, DEFAULT)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "64:ff9b:1::808:808"])
def test_nat64_of_a_global_address_allowed(address: str) -> None:
    # An IPv6-only host behind DNS64 reaches every IPv4-only feed this way.
    assert address_allowed(address, DEFAULT)


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("2002:7f00:0001::", "127.0.0.1"),
        ("64:ff9b::7f00:1", "127.0.0.1"),
        ("64:ff9b:1::a00:1", "10.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1"),
        ("2606:4700:4700::1111", None),
        ("::127.0.0.1", None),
        ("8.8.8.8", None),
    ],
)
def test_embedded_ipv4(address: str, inner: str | None) -> None:
    expected = IPv4Address(inner) if inner else None
    assert embedded_ipv4(ip_address(address)) == expected


def test_is_global_looks_inside_wrapped_addresses() -> None:
    assert is_global(ip_address("2002:808:808::1"))
    assert not is_global(ip_address("2002:a00:1::1"))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("[fe80::1%eth0]", "fe80::1"),
        ("example.com", None),
        ("127.1", None),
        ("", None),
    ],
)
def test_literal_address(host: str, expected: str | None) -> None:
    result = literal_address(host)
    assert result == (ip_address(expected) if expected else None)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("2852039166", "169.254.169.254"),
        ("localhost", "127.0.0.1"),
        ("localhost.", "127.0.0.1"),
        ("app.localhost", "127.0.0.1"),
        ("example.com", None),
        ("cafe.be", None),
        ("localhost.example.com", None),
        ("1.2.3.4.5", None),
        ("4294967296", None),
        ("", None),
    ],
)
def test_host_address_reads_what_the_system_resolver_would(host: str, expected: str | None) -> None:
    # Without DNS: so feeds add and OPML import refuse them before anything is stored.
    assert host_address(host) == (ip_address(expected) if expected else None)
