"""An address policy from how it is written: ``true``/``false``, or a list of networks.

Configuration writes it once for all feeds; the store keeps a feed's own choice
in this form and reads it back.
"""

from __future__ import annotations

from ipaddress import ip_network

from monitor.core.types import AddressPolicy, Network


def to_policy(value: bool | list[str]) -> AddressPolicy:
    if isinstance(value, bool):
        return AddressPolicy(allow_all=value)
    networks: list[Network] = [ip_network(item, strict=False) for item in value]
    return AddressPolicy(networks=tuple(networks))
