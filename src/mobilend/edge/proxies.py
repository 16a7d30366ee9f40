"""The client's address and scheme behind a reverse proxy, believed only from proxies
the operator listed (``MOBILEND_TRUSTED_PROXIES``).

Any client can send ``X-Forwarded-For``; believed from everyone, it lets a caller choose
the address recorded on its consents and signatures and fed to the fraud rules. So the
headers count only when the TCP peer is a trusted proxy, and ``X-Forwarded-For`` is read
from the right: each trusted hop is skipped, and the first address that is not a trusted
proxy is the client (anything further left was written by the client itself).

Run uvicorn with ``proxy_headers=False`` (``mobilend serve`` does): its own handling
believes any peer on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """``"10.0.0.0/8, 192.0.2.7"`` → those networks; a bad entry is an error."""
        networks = []
        for item in text.replace(";", ",").split(","):
            item = item.strip()
            if item:
                try:
                    networks.append(ipaddress.ip_network(item, strict=False))
                except ValueError:
                    raise ValueError(f"not an IP address or network: {item!r}") from None
        return cls(tuple(networks))

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str) or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.networks)


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v for k, v in scope.get("headers", []) if k.lower() == name]
    if not values:
        return None
    return ",".join(v.decode("latin-1") for v in values)


def client_from(forwarded_for: str, trusted: TrustedProxies) -> str | None:
    """The first hop from the right that is not a trusted proxy (None: all are)."""
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return None  # garbage where an address belongs: believe nothing
    return None


class ForwardedHeaders:
    """Rewrite ``scope["client"]`` and ``scope["scheme"]`` from a trusted proxy's headers."""

    def __init__(self, app: ASGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            if peer and peer[0] in self.trusted:
                forwarded = _header(scope, b"x-forwarded-for")
                if forwarded:
                    client = client_from(forwarded, self.trusted)
                    if client is not None:
                        scope["client"] = (client, 0)
                proto = _header(scope, b"x-forwarded-proto")
                if proto:
                    # The nearest proxy's value is the last one.
                    last = proto.split(",")[-1].strip().lower()
                    if last in ("http", "https"):
                        secure = last == "https"
                        if scope["type"] == "websocket":
                            scope["scheme"] = "wss" if secure else "ws"
                        else:
                            scope["scheme"] = last
        await self.app(scope, receive, send)
