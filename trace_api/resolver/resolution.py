"""What one resolve works on and yields: the scan, its verdict, and its transaction.

The types every resolver module shares (`service` resolves; `scans`, `page`, `linkset`
read and fill a `Resolution`), kept apart so that none of them imports another's logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from trace_api.codes.gs1 import ItemLink, item_uri

# The verdicts, best first. ``pin_required``: genuine so far, but the label has a scratch-off
# PIN nobody has used, and only the PIN completes the check. ``possibly_copied``: the
# record is sound, but scans or PIN tries flagged the label as copied (`flags`).
VERDICTS = ("genuine", "pin_required", "possibly_copied", "suspicious", "recalled", "unknown")
HTTP_STATUS = {  # of the JSON and linkset answers (GS1 resolver semantics); pages: page.py
    "genuine": 200,
    "pin_required": 200,
    "possibly_copied": 200,
    "suspicious": 200,
    "recalled": 410,
    "unknown": 404,
}


@dataclass(frozen=True)
class Scan:
    """Who scanned (a keyed hash of the IP) and where, if the client said."""

    client: str
    client_hash: bytes
    lat: float | None = None
    lon: float | None = None
    region: str | None = None


@dataclass
class Resolution:
    """Everything the page and the JSON answer show about one scanned link."""

    verdict: str
    link: ItemLink
    serial: str | None = None
    reasons: list[str] = field(default_factory=list)
    product: dict[str, Any] | None = None
    batch: dict[str, Any] | None = None
    payload: str | None = None  # "decrypted", "erased" (key shredded) or "unreadable"
    timeline: list[dict[str, Any]] = field(default_factory=list)
    proof: dict[str, Any] | None = None
    leaf_input: str | None = None
    scans: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    pin: dict[str, Any] | None = None
    recall: dict[str, Any] | None = None
    links: dict[str, str] = field(default_factory=dict)
    anchored_at: str | None = None  # when the batch's anchor was confirmed
    brand: dict[str, Any] | None = None  # display name, hotline, website, logo

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.verdict]

    def document(self, base: str) -> dict[str, Any]:
        """The JSON answer."""
        uri = None
        if self.serial and self.batch and self.product:
            uri = item_uri(base, self.product["gtin"], self.batch["lot"], self.serial)
        return {
            "verdict": self.verdict,
            "reasons": self.reasons,
            "uri": uri,
            "gtin": self.link.gtin,
            "lot": self.link.lot,
            "serial": self.serial or self.link.serial,
            "product": self.product,
            "batch": self.batch,
            "payload": self.payload,
            "recall": self.recall,
            "scans": self.scans,
            "warnings": self.warnings,
            "pin": self.pin,
            "timeline": self.timeline,
            "proof": self.proof,
            "leaf_input": self.leaf_input,
            "links": self.links,
            "anchored_at": self.anchored_at,
            "brand": self.brand,
        }


class ResolveDb:
    """The connection of one resolve's transaction, and an ORM session on it once needed."""

    __slots__ = ("_opened", "_session", "connection")

    def __init__(self, connection: Connection, session: Session | None = None) -> None:
        self.connection = connection
        self._session = session
        self._opened: Session | None = None

    def session(self) -> Session:
        """A session in the connection's transaction: it joins it, and never commits it."""
        if self._session is None:
            self._session = self._opened = Session(
                bind=self.connection, join_transaction_mode="rollback_only", autoflush=False
            )
        return self._session

    def close(self) -> None:
        """Close the session opened here, if any (the transaction stays the caller's)."""
        if self._opened is not None:
            self._opened.close()
