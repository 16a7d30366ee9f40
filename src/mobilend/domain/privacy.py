"""Data minimisation rules for what the platform keeps about a request.

A client's IP address is kept only as its network: the /24 of an IPv4 address, the /48
of an IPv6 one. That is enough for the purposes it serves — showing roughly where a
consent or a signature came from, and counting applications from one network in the
fraud rules — without pointing at one subscriber.
"""

from __future__ import annotations

import ipaddress

IPV4_PREFIX = 24
IPV6_PREFIX = 48


def reduce_ip(address: str) -> str:
    """``203.0.113.7`` → ``203.0.113.0/24``; ``2001:db8:1:2::5`` → ``2001:db8:1::/48``;
    an address already reduced stays as it is; anything else (empty, a hostname) → ``""``."""
    text = (address or "").strip()
    if not text:
        return ""
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            ip = network.network_address
            prefix = min(network.prefixlen, IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX)
        else:
            ip = ipaddress.ip_address(text)
            prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return reduce_ip(str(ip.ipv4_mapped))
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def rate_limit_key(address: str) -> str:
    """What one client is counted as for abuse limits: its IPv4 address, or the /64 of an
    IPv6 one (what a single subscriber usually holds); ``""`` when there is none."""
    text = (address or "").strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
