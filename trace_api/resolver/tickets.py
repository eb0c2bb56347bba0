"""PIN outcomes carried across a redirect: the PIN form posts, then the page is fetched again.

The POST checks the PIN and answers 303 to the page with the outcome in ``?pin=``, signed
(itsdangerous, under a key derived from the master key), bound to the serial and to the
client's keyed hash, and good for ten minutes. The page fetched with a valid ticket shows
that outcome and is not counted as another scan, so a refresh neither resubmits the PIN
nor inflates the count; a ticket from someone else, for another code, or too old is
ignored.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

MAX_AGE_SECONDS = 600
_SHOWN = ("result", "used_at", "by_you", "attempts_left", "retry_after", "backoff", "until")


class PinTickets:
    """Signs and reads PIN outcome tickets."""

    def __init__(self, master_key: bytes) -> None:
        secret = hmac.new(master_key, b"tracechain/pin-ticket/v1", hashlib.sha256).digest()
        self._serializer = URLSafeTimedSerializer(secret, salt="pin-outcome")

    def issue(self, *, serial: str, client_hash: bytes, outcome: dict[str, Any]) -> str:
        """A ticket for ``outcome`` of a PIN try on ``serial`` by this client."""
        shown = {k: outcome[k] for k in _SHOWN if k in outcome}
        return self._serializer.dumps({"s": serial, "c": client_hash.hex(), "o": shown})

    def read(self, ticket: str, *, serial: str, client_hash: bytes) -> dict[str, Any] | None:
        """The outcome a ticket carries, if it is sound, recent, this code's and this client's."""
        if len(ticket) > 1000:
            return None
        try:
            value = self._serializer.loads(ticket, max_age=MAX_AGE_SECONDS)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(value, dict) or value.get("s") != serial:
            return None
        if not hmac.compare_digest(str(value.get("c", "")), client_hash.hex()):
            return None
        outcome = value.get("o")
        return outcome if isinstance(outcome, dict) and "result" in outcome else None
