"""Connections to webhook subscribers: resolve the name, check every address, connect to
a checked one.

The check and the connection use the same answer: ``PinnedBackend`` is an httpcore
network backend that resolves the host itself and hands its inner backend an IP literal,
so a DNS answer that changes between the check and the connection (rebinding) cannot
send the request elsewhere. TLS is unaffected: httpcore still verifies the certificate
against, and sends as SNI, the host name of the URL.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

import httpcore

from trace_api.epcis import destinations


class DestinationRefused(Exception):
    """The host has an address that is not public; the service does not connect to it."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order. getaddrinfo reads the
    numeric forms a URL may hide an address in (``2130706433``, ``0x7f000001``, ``127.1``)
    as the kernel would; OSError when the name does not resolve."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses to connect to for ``host``: all of them public (DestinationRefused
    when any is not, unless ``allow_private``); OSError when the name does not resolve."""
    addresses = resolve(host, port)
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    if not allow_private:
        refused = [a for a in addresses if not destinations.is_public(a)]
        if refused:
            raise DestinationRefused(f"{host} resolves to {', '.join(refused)}")
    return addresses


class PinnedBackend(httpcore.NetworkBackend):
    """An httpcore network backend that connects only to addresses it has just checked."""

    def __init__(
        self, *, allow_private: bool, inner: httpcore.NetworkBackend | None = None
    ) -> None:
        self._allow_private = allow_private
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = checked_addresses(host, port, allow_private=self._allow_private)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        failure: Exception | None = None
        for address in addresses:  # each one checked; none looked up again
            try:
                return self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise DestinationRefused("webhooks are delivered over TCP only")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
