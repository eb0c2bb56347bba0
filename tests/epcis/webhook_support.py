"""Helpers for webhook tests: a subscriber on loopback, a test clock, a DNS that answers
what the test says, a network that reaches loopback only, and TLS certificates."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trace_api.epcis.webhooks import signature
from trace_api.models import utcnow

TOKEN = "13df38d8275b13f05704629e5f1cf3d45d6132d5"


class Receiver:
    """A webhook subscriber on a loopback port that can be down, up, or failing."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.documents: list[dict[str, Any]] = []
        self.signatures_ok: list[bool] = []
        self.hosts: list[str] = []  # the Host header of every request
        self.server_names: list[str | None] = []  # the TLS SNI of every handshake
        self.fail_next = 0
        self.status = 200  # what it answers once fail_next is used up
        self.headers: dict[str, str] = {}  # sent with that answer
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/epcis-hook"

    def start(self, tls: ssl.SSLContext | None = None) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.hosts.append(self.headers.get("Host", ""))
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                if receiver.status >= 300:
                    self.send_response(receiver.status)
                    for name, value in receiver.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    return
                receiver.signatures_ok.append(
                    self.headers.get("GS1-Signature") == signature(TOKEN, body)
                )
                receiver.documents.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if tls is not None:

            def note(sock: Any, name: str | None, context: Any) -> None:
                receiver.server_names.append(name)

            tls.sni_callback = note
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def event_ids(self) -> list[str]:
        return [
            e["eventID"]
            for d in self.documents
            for e in d["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeDns:
    """socket.getaddrinfo answering for one name what the test says: ``answers[i]`` for
    the i-th lookup, the last one for any after it (an empty one: the name does not
    resolve). Other names resolve as usual."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, *answers: list[str]) -> None:
        self.name = name
        self.answers = list(answers)
        self.lookups = 0
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host != name:
                return real(host, port, *args, **kwargs)
            answer = self.answers[min(self.lookups, len(self.answers) - 1)]
            self.lookups += 1
            if not answer:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [_addrinfo(address, int(port or 0)) for address in answer]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _addrinfo(address: str, port: int) -> tuple[Any, ...]:
    if ipaddress.ip_address(address).version == 6:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


class LoopbackOnlyNetwork(httpcore.NetworkBackend):
    """Makes real connections to loopback (and to names, as an unpinned client would),
    refuses any other IP literal so no test sends a byte off this machine, and records
    every host it was asked to connect to."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self._real = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        self.asked.append(host)
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not literal.is_loopback:
            raise httpcore.ConnectError(f"test network: no route to {host}")
        return self._real.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )


def tls_contexts(folder: Path, certified_name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client): the server presents a certificate for ``certified_name`` from a
    test CA that the client, and nothing else, trusts."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, certified_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(certified_name)]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain, private = folder / "server.pem", folder / "server.key"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(chain, private)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client
