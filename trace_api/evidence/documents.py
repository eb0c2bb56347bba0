"""A proof's document, kept sealed chunk by chunk under the tenant's data key.

The document is read once, in 1 MiB chunks: each chunk feeds the SM3 and SHA-256 digests
and, when the document is kept, is sealed with SM4-GCM under the tenant's active data key
(`crypto.envelope.Keyring`) into one ``evidence_document_chunks`` row, so memory stays
flat whatever the document's size. A chunk's associated data names the proof, the chunk's
number and whether it is the last one::

    b"tracechain/evidence-document/v1" || evidence id || seq (8 bytes, big-endian) || last

so a chunk moved to another proof or position, a dropped chunk or a truncated document
fails to open. A document always has at least one chunk (an empty one for an empty file).

Shredding the data key (``POST /v1/data-keys/{id}/shred``) leaves the chunks unopenable
for good; the proof, its digests and its certificate stand, so a download answers 410.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from crypto.envelope import Keyring
from crypto.errors import CryptoError, KeyShredded
from crypto.sm3 import SM3Hasher
from trace_api.db import transaction
from trace_api.errors import Conflict, NotFound, ServiceError
from trace_api.instants import iso
from trace_api.models import Evidence, EvidenceDocumentChunk, TenantKey
from trace_api.tenancy import service as tenancy_service

CHUNK = 1024 * 1024
_LABEL = b"tracechain/evidence-document/v1"


class DocumentShredded(ServiceError):
    """The data key that sealed the document was shredded: it can never be read again."""

    status = 410
    slug = "document-shredded"
    title = "Document shredded"


class DocumentUnreadable(ServiceError):
    """A stored chunk does not open: it was altered, moved or lost."""

    status = 500
    slug = "evidence-integrity"
    title = "Stored document does not check out"


@dataclass
class ReadDocument:
    """What one pass over a document gave: its size and digests, and the chunks kept."""

    size: int = 0
    digests: dict[str, str] = field(default_factory=dict)
    chunks: int = 0
    key_id: str | None = None


@dataclass(frozen=True)
class Keeping:
    """Where a kept document goes: the proof's chunk rows, sealed under the keyring's
    active data key (the proof's own row must be in the session already)."""

    session: Session
    keyring: Keyring
    evidence_id: str


def chunk_associated_data(evidence_id: str, seq: int, last: bool) -> bytes:
    """What a chunk's seal binds besides its bytes: the proof, its place, whether last."""
    return _LABEL + evidence_id.encode() + seq.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def _chunks(stream: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """The stream's chunks, each with whether it is the last (one read ahead)."""
    current = stream.read(CHUNK)
    while True:
        following = stream.read(CHUNK) if len(current) == CHUNK else b""
        yield current, not following
        if not following:
            return
        current = following


def read_document(stream: BinaryIO, keeping: Keeping | None = None) -> ReadDocument:
    """Hash the document and, when it is to be kept, seal it chunk by chunk, in one pass."""
    sm3, sha256 = SM3Hasher(), hashlib.sha256()
    read = ReadDocument()
    if keeping is not None:
        read.key_id = keeping.keyring.active_key_id
        if read.key_id is None:
            raise Conflict("the tenant has no active data key to seal the document under")
    for seq, (data, last) in enumerate(_chunks(stream)):
        sm3.update(data)
        sha256.update(data)
        read.size += len(data)
        if keeping is not None:
            sealed = keeping.keyring.seal(
                data, chunk_associated_data(keeping.evidence_id, seq, last)
            )
            # A Core insert: no ORM object keeps the sealed bytes once the row is sent.
            keeping.session.execute(
                insert(EvidenceDocumentChunk).values(
                    evidence_id=keeping.evidence_id, seq=seq, sealed=sealed
                )
            )
            read.chunks += 1
    read.digests = {"sm3": sm3.hexdigest(), "sha256": sha256.hexdigest()}
    return read


def _shredded(session: Session, key_id: str) -> str | None:
    """Why a document sealed under ``key_id`` is gone, or None while that key lives."""
    key = session.get(TenantKey, key_id)
    if key is None or key.status != "shredded":
        return None
    when = iso(key.shredded_at) if key.shredded_at else "an unrecorded time"
    return (
        f"the data key {key_id} that sealed this document was shredded at {when}: the "
        "document can no longer be decrypted; the proof, its digests and its certificate "
        "still stand"
    )


def _open_chunk(keyring: Keyring, proof: Evidence, seq: int, sealed: bytes) -> bytes:
    last = seq == proof.document_chunks - 1
    try:
        return keyring.open(sealed, chunk_associated_data(proof.id, seq, last))
    except KeyShredded as exc:
        raise DocumentShredded(f"{exc}; the proof and its certificate still stand") from None
    except CryptoError:
        detail = f"chunk {seq} of proof {proof.id}'s document does not open"
        raise DocumentUnreadable(detail) from None


def _stored_chunk(session: Session, proof: Evidence, seq: int) -> bytes:
    sealed = session.scalar(
        select(EvidenceDocumentChunk.sealed).where(
            EvidenceDocumentChunk.evidence_id == proof.id, EvidenceDocumentChunk.seq == seq
        )
    )
    if sealed is None:
        raise DocumentUnreadable(f"chunk {seq} of proof {proof.id}'s document is missing")
    return bytes(sealed)


def open_document(
    *, session: Session, sessions: sessionmaker[Session], master_key: bytes, proof: Evidence
) -> Iterator[bytes]:
    """The kept document of ``proof``, as chunks to stream: NotFound when none was kept,
    DocumentShredded (410) when its data key was shredded.

    The first chunk is opened now, in the request, so that a refusal is still an HTTP
    answer; each later one is read in a short transaction of its own while the client
    reads, so no connection or snapshot is held for the length of a download."""
    if proof.document_key_id is None or proof.document_chunks == 0:
        raise NotFound(f"proof {proof.id} has no kept document (submit it with keep=true)")
    gone = _shredded(session, proof.document_key_id)
    if gone is not None:
        raise DocumentShredded(gone)
    keyring = tenancy_service.tenant_keyring(
        session=session, master_key=master_key, tenant_id=proof.tenant_id
    )
    first = _open_chunk(keyring, proof, 0, _stored_chunk(session, proof, 0))

    def chunks() -> Iterator[bytes]:
        yield first
        for seq in range(1, proof.document_chunks):
            with transaction(sessions) as reading:
                sealed = _stored_chunk(reading, proof, seq)
            yield _open_chunk(keyring, proof, seq, sealed)

    return chunks()
