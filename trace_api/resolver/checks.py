"""The integrity checks of a code, and a cache of their outcomes keyed by their inputs.

A code passes when its leaf, recomputed from the stored row, is the leaf at its index in
its batch's tree (itself checked against the recorded root, see `proofs.BatchTrees`), and
its payload opens under the tenant's data key, bound to its serial, and names this code.
The outcome is a pure function of the stored bytes it reads (serial, sealed payload,
index, GTIN, lot, batch and tenant ids, the data key's wrapped material and status) and of
the tree, so it is cached under exactly those: a row altered in any of them is a new key,
and is checked afresh.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from crypto.envelope import Keyring, key_id_of
from crypto.errors import DecryptionFailed, KeyShredded, UnknownKey
from crypto.merkle import MerkleTree, leaf_hash
from trace_api.codes.payload import leaf_input, leaf_template
from trace_api.resolver.lookup import CodeRow
from trace_api.resolver.proofs import proof_core

KeyState = tuple[bytes | None, str] | None  # (wrapped material, status), None: no such key


@dataclass(frozen=True, slots=True)
class Checked:
    """What the checks of one stored code found."""

    leaf_input: str
    reasons: tuple[str, ...]  # "leaf_mismatch", "payload_unreadable", "payload_mismatch"
    payload: str  # "decrypted", "erased" (key shredded) or "unreadable"
    shown: dict[str, Any] | None  # product and batch fields from the decrypted payload
    proof: dict[str, Any] | None  # the proof document without its anchor, if the leaf is sound


class CodeChecks:
    """Runs the checks, and remembers the outcome of the most recent ones."""

    def __init__(self, master_key: bytes, max_entries: int = 4096) -> None:
        self._master_key = master_key
        self._max_entries = max_entries
        self._checked: dict[tuple[Any, ...], Checked] = {}
        self._keyrings: dict[tuple[str, bytes], Keyring] = {}
        self._lock = threading.Lock()

    def check(
        self, row: CodeRow, tree: MerkleTree | None, key_id: str | None, key: KeyState
    ) -> Checked:
        """The checks of ``row`` against ``tree`` (None: not sound) and its data key.

        ``key_id`` is the key the envelope names (None: its header does not parse) and
        ``key`` that key's stored state.
        """
        inputs = (
            tree, row.idx, row.serial, row.sealed, row.gtin, row.lot, row.batch_id,
            row.tenant_id, key_id, key,
        )  # fmt: skip
        checked = self._checked.get(inputs)
        if checked is None:
            checked = self._run(row, tree, key_id, key)
            with self._lock:
                if len(self._checked) >= self._max_entries:
                    self._checked.clear()
                self._checked[inputs] = checked
        return checked

    def _run(
        self, row: CodeRow, tree: MerkleTree | None, key_id: str | None, key: KeyState
    ) -> Checked:
        reasons: list[str] = []
        text = leaf_input(leaf_template(row.gtin, row.lot), row.sealed, row.serial)
        proof = None
        if tree is not None:
            if row.idx >= tree.size or tree.leaf_hash_at(row.idx) != leaf_hash(text):
                reasons.append("leaf_mismatch")
            else:
                proof = proof_core(tree, row.idx)
        payload, shown = self._open(row, key_id, key, reasons)
        return Checked(text.decode(), tuple(reasons), payload, shown, proof)

    def _open(
        self, row: CodeRow, key_id: str | None, key: KeyState, reasons: list[str]
    ) -> tuple[str, dict[str, Any] | None]:
        """Decrypt the payload; what the page shows of product and batch comes from it."""
        try:
            if key_id is None:
                raise DecryptionFailed("the envelope header does not parse")
            keyring = self._keyring(key_id, key)
            payload = json.loads(keyring.open(row.sealed, row.serial.encode()))
        except KeyShredded:
            return "erased", None
        except (DecryptionFailed, UnknownKey, ValueError):
            reasons.append("payload_unreadable")
            return "unreadable", None
        if (
            not isinstance(payload, dict)
            or payload.get("serial") != row.serial
            or payload.get("batch") != row.batch_id
            or payload.get("gtin") != row.gtin
            or payload.get("item") != row.idx
        ):
            reasons.append("payload_mismatch")
            return "unreadable", None
        shown = {
            name: payload[name]
            for name in ("product", "brand", "lot", "production_date", "expiry", "factory")
        }
        return "decrypted", shown

    def _keyring(self, key_id: str, key: KeyState) -> Keyring:
        if key is None:
            raise UnknownKey(f"no data key {key_id!r}")
        wrapped, status = key
        if wrapped is None or status == "shredded":
            raise KeyShredded(f"data key {key_id!r} was shredded")
        cached = self._keyrings.get((key_id, wrapped))
        if cached is None:
            cached = Keyring.from_wrapped(self._master_key, {key_id: wrapped}, active=None)
            with self._lock:
                if len(self._keyrings) > 1000:
                    self._keyrings.clear()
                self._keyrings[(key_id, wrapped)] = cached
        return cached


def envelope_key_id(sealed: bytes) -> str | None:
    """The data key an envelope names, or None if its header does not parse."""
    try:
        return key_id_of(sealed)
    except DecryptionFailed:
        return None
