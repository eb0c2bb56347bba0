"""Signed checkpoints of a tenant's log: its size and root at a moment, chained to the previous one.

The body is the RFC 8785 canonical JSON of

    {"v":1,"type":"tracechain/checkpoint","log":<log id>,"tenant":<tenant id>,
     "size":<int>,"root":"<64 hex>","at":"<RFC 3339 UTC, microseconds, Z>",
     "prev":{"size":<int>,"root":"<64 hex>"} or null}

and the service signs those bytes with SM2 (`sign_checkpoint`). Checkpoints
are anchored on chain under ``anchor_id_for("audit_checkpoint", tenant, str(size))``
with kind `ANCHOR_KIND`, the checkpoint's root and size, and as ``meta`` the
`signing_key_fingerprint` of the service key: whoever checks the anchor on
chain thereby learns which key signed the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from compliance._wire import canonical_json, format_utc, hex32, loads_strict, parse_utc
from compliance.errors import InvalidCheckpointSignature, MalformedCheckpoint
from crypto import sm2
from crypto.errors import CryptoError
from crypto.sm3 import sm3

__all__ = [
    "ANCHOR_KIND",
    "ANCHOR_NAMESPACE",
    "CHECKPOINT_TYPE",
    "Checkpoint",
    "sign_checkpoint",
    "signing_key_fingerprint",
    "verify_checkpoint",
]

CHECKPOINT_TYPE = "tracechain/checkpoint"
ANCHOR_NAMESPACE = "audit_checkpoint"
"""The `kind` argument of `chain.anchor_id_for` for checkpoints (the subject is ``str(size)``)."""
ANCHOR_KIND = 2
"""The kind byte stored with a checkpoint's on-chain anchor."""

_KEYS = frozenset(("v", "type", "log", "tenant", "size", "root", "at", "prev"))
_MAX_SIZE = 2**53 - 1


@dataclass(frozen=True)
class Checkpoint:
    """The log `log_id` of `tenant_id` had `size` entries with Merkle root `root` at `issued_at`."""

    log_id: str
    tenant_id: str
    size: int
    root: bytes
    issued_at: datetime
    previous_size: int | None
    previous_root: bytes | None

    def __post_init__(self) -> None:
        for name in ("log_id", "tenant_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise MalformedCheckpoint(f"{name} must be a non-empty string")
        if not _is_size(self.size):
            raise MalformedCheckpoint(f"size must be an integer in 0..2**53-1, got {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise MalformedCheckpoint("root must be 32 bytes")
        if not isinstance(self.issued_at, datetime) or self.issued_at.utcoffset() is None:
            raise MalformedCheckpoint("issued_at must be a timezone-aware datetime")
        object.__setattr__(self, "issued_at", self.issued_at.astimezone(UTC))
        if (self.previous_size is None) != (self.previous_root is None):
            raise MalformedCheckpoint("previous_size and previous_root come together or not at all")
        if self.previous_size is not None:
            if not _is_size(self.previous_size) or not self.previous_size < self.size:
                raise MalformedCheckpoint("previous_size must be smaller than size")
            if not isinstance(self.previous_root, bytes) or len(self.previous_root) != 32:
                raise MalformedCheckpoint("previous_root must be 32 bytes")

    def body(self) -> bytes:
        """The canonical bytes that are signed, cosigned and stored."""
        previous: dict[str, Any] | None = None
        if self.previous_size is not None and self.previous_root is not None:
            previous = {"size": self.previous_size, "root": self.previous_root.hex()}
        return canonical_json(
            {
                "v": 1,
                "type": CHECKPOINT_TYPE,
                "log": self.log_id,
                "tenant": self.tenant_id,
                "size": self.size,
                "root": self.root.hex(),
                "at": format_utc(self.issued_at),
                "prev": previous,
            }
        )

    @classmethod
    def from_body(cls, body: bytes) -> Checkpoint:
        """Parse a body strictly (exact keys, types, canonical bytes); MalformedCheckpoint else."""
        body = bytes(body)
        try:
            value = loads_strict(body)
            checkpoint = cls._from_json(value)
        except MalformedCheckpoint:
            raise
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedCheckpoint(f"not a checkpoint body: {exc}") from exc
        if checkpoint.body() != body:
            raise MalformedCheckpoint("the body is not in canonical form (RFC 8785)")
        return checkpoint

    @classmethod
    def _from_json(cls, value: Any) -> Checkpoint:
        if not isinstance(value, dict) or value.keys() != _KEYS:
            raise MalformedCheckpoint(f"a checkpoint body is an object with keys {sorted(_KEYS)}")
        if value["v"] != 1 or isinstance(value["v"], bool) or value["type"] != CHECKPOINT_TYPE:
            raise MalformedCheckpoint("not a version 1 tracechain/checkpoint")
        previous = value["prev"]
        previous_size: int | None = None
        previous_root: bytes | None = None
        if previous is not None:
            if not isinstance(previous, dict) or previous.keys() != {"size", "root"}:
                raise MalformedCheckpoint('prev must be null or {"size":...,"root":...}')
            previous_size = previous["size"]
            previous_root = hex32(previous["root"], "prev.root")
        return cls(
            log_id=value["log"],
            tenant_id=value["tenant"],
            size=value["size"],
            root=hex32(value["root"], "root"),
            issued_at=parse_utc(value["at"]),
            previous_size=previous_size,
            previous_root=previous_root,
        )


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_SIZE


def signing_key_fingerprint(public_key: sm2.PublicKey | bytes) -> bytes:
    """SM3 of the 65-byte public key: the ``meta`` of every checkpoint anchor it signed."""
    raw = public_key.to_bytes() if isinstance(public_key, sm2.PublicKey) else bytes(public_key)
    return sm3(raw)


def sign_checkpoint(key: sm2.PrivateKey, checkpoint: Checkpoint) -> bytes:
    """The service's SM2 signature (DER) over the checkpoint's body."""
    return key.sign(checkpoint.body())


def verify_checkpoint(
    public_key: sm2.PublicKey | bytes, body: bytes, signature: bytes
) -> Checkpoint:
    """Check `signature` over `body`, then parse it.

    Raises InvalidCheckpointSignature (bad key, signature or signed bytes) or MalformedCheckpoint.
    """
    try:
        key = (
            public_key
            if isinstance(public_key, sm2.PublicKey)
            else sm2.PublicKey.from_bytes(bytes(public_key))
        )
        key.verify(bytes(signature), bytes(body))
    except CryptoError as exc:
        raise InvalidCheckpointSignature(f"checkpoint signature does not verify: {exc}") from exc
    return Checkpoint.from_body(body)
