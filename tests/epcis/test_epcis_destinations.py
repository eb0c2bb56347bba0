"""Webhook destinations: only http(s) URLs without credentials, only public addresses."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from trace_api.epcis.destinations import InvalidDestination, carried_ipv4, is_public, parse

REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "169.254.169.254",  # cloud metadata
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.1",
    "198.18.0.1",  # benchmarking
    "198.19.255.255",
    "192.88.99.1",
    "224.0.0.1",  # multicast, which Python 3.11 calls global
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd00::1",
    "fec0::1",
    "ff02::1",
    "100::1",
    "2001:db8::1",
    "2001:2::1",
    "3fff::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:100.64.0.1",
    "::127.0.0.1",  # IPv4-compatible
    "2002:7f00:1::",  # 6to4 of 127.0.0.1, which Python 3.11 calls global
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1, which Python 3.11 calls global
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::808:808",  # local-use NAT64 prefix: where the IPv4 sits is the network's
    "::ffff:0:808:808",  # IPv4-translated (SIIT)
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "100.63.255.255",
    "100.128.0.0",
    "172.32.0.1",
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",  # the public address it maps
    "2002:808:808::1",
    "64:ff9b::808:808",
]


@pytest.mark.parametrize("address", REFUSED)
def test_a_non_public_address_is_refused_in_every_spelling(address: str) -> None:
    assert is_public(address) is False


@pytest.mark.parametrize("address", ALLOWED)
def test_a_public_address_is_allowed(address: str) -> None:
    assert is_public(address) is True


def test_the_ipv4_address_an_ipv6_one_carries() -> None:
    assert carried_ipv4(IPv6Address("::ffff:1.2.3.4")) == [IPv4Address("1.2.3.4")]
    assert carried_ipv4(IPv6Address("2002:102:304::9")) == [IPv4Address("1.2.3.4")]
    assert carried_ipv4(IPv6Address("64:ff9b::102:304")) == [IPv4Address("1.2.3.4")]
    assert carried_ipv4(IPv6Address("::1.2.3.4")) == [IPv4Address("1.2.3.4")]
    server, client = carried_ipv4(IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2"))
    assert (server, client) == (IPv4Address("65.54.227.120"), IPv4Address("192.0.2.45"))
    assert carried_ipv4(IPv6Address("2001:4860::1")) == []


def test_a_destination_is_split_as_the_connection_needs_it() -> None:
    dest = parse("https://Hooks.Example.com:8443/in/box?x=1#part")
    assert (dest.scheme, dest.host, dest.port) == ("https", "hooks.example.com", 8443)
    assert (dest.netloc, dest.target) == ("hooks.example.com:8443", "/in/box?x=1")
    assert parse("http://[::ffff:127.0.0.1]/").host == "::ffff:127.0.0.1"
    assert parse("http://[2002:7f00:1::]/").netloc == "[2002:7f00:1::]"
    assert parse("https://bücher.example/").host == "xn--bcher-kva.example"
    assert parse("http://example.com").port == 80


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com/",
        "example.com/hook",
        "http:///hook",
        "http://user:secret@example.com/",
        "http://user@example.com/",
        "http://example.com\\@127.0.0.1/",  # a parser that disagrees would go elsewhere
        "http://example.com:0/",
        "http://example.com:99999/",
        "http://0177.0.0.1/",  # octal: httpx refuses it as an IPv4 address
    ],
)
def test_only_http_urls_without_credentials_are_destinations(url: str) -> None:
    with pytest.raises(InvalidDestination):
        parse(url)
