"""Where webhook deliveries may go: an http(s) URL without credentials, to public addresses.

Pure rules, no I/O: trace_api/epcis/outbound.py resolves names and connects. An address
is public only when it is globally routable unicast. An IPv6 address that carries an IPv4
one (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, 6to4 ``2002::/16``,
Teredo ``2001::/32``, NAT64 ``64:ff9b::/96``) reaches that IPv4 address, so it is judged
by it. Python's ``is_global`` alone is not enough: on 3.11 it calls ``2002:7f00:1::``
(6to4 of 127.0.0.1), ``64:ff9b::7f00:1`` and ``::ffff:8.8.8.8`` alike global and IPv4
multicast global; the lists below hold whatever the Python version says.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import httpx

IPAddress = IPv4Address | IPv6Address

# RFC 6890 and the IANA special-purpose registries: never a subscriber on the internet.
_REFUSED_V4 = tuple(
    IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # this network (0.0.0.0 reaches the local host on Linux)
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # shared address space (CGNAT), RFC 6598
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # 6to4 relay anycast, deprecated
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_REFUSED_V6 = tuple(
    IPv6Network(n)
    for n in (
        "2001::/23",  # IETF protocol assignments (Teredo is unwrapped before this)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation, RFC 9637
    )
)
_NAT64 = IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: the low 32 bits
_IPV4_COMPATIBLE = IPv6Network("::/96")  # deprecated, RFC 4291 2.5.5.1


class InvalidDestination(ValueError):
    """The URL is not one the service delivers to; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Destination:
    """A checked webhook URL, split as the connection needs it."""

    scheme: str  # "http" or "https"
    host: str  # as connected to: IDNA-encoded name or IP literal without brackets
    port: int
    netloc: str  # the Host header: host (bracketed for IPv6) and any explicit port
    target: str  # path and query, percent-encoded


def parse(url: str) -> Destination:
    """The destination ``url`` names; InvalidDestination when it is not an http(s) URL
    with a host and without credentials."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise InvalidDestination(f"is not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise InvalidDestination("must be an absolute http or https URL")
    if parsed.userinfo:
        raise InvalidDestination("must not hold a user name or password")
    port = parsed.port if parsed.port is not None else (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise InvalidDestination(f"port {port} is out of range")
    return Destination(
        scheme=parsed.scheme,
        host=parsed.raw_host.decode("ascii"),
        port=port,
        netloc=parsed.netloc.decode("ascii"),
        target=parsed.raw_path.decode("ascii"),
    )


def carried_ipv4(address: IPv6Address) -> list[IPv4Address]:
    """The IPv4 addresses a packet to ``address`` ends up at: the embedded address of a
    mapped, compatible, 6to4 or NAT64 one, the server and client of a Teredo one."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        return [IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def is_public(address: IPAddress | str) -> bool:
    """Whether the service may connect to ``address``: globally routable unicast only."""
    ip = ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, IPv4Address):
        return _is_public_v4(ip)
    carried = carried_ipv4(ip)
    if carried:
        return all(_is_public_v4(v4) for v4 in carried)
    return (
        ip in _GLOBAL_UNICAST_V6
        and not any(ip in network for network in _REFUSED_V6)
        and ip.is_global
    )


def _is_public_v4(ip: IPv4Address) -> bool:
    return not any(ip in network for network in _REFUSED_V4) and ip.is_global
