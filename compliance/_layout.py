"""The audit bundle's file names and fixed formats, shared by the writer and the verifier.

Layout (version 1), every file at the top of the zip:

- ``manifest.json``: canonical JSON naming the bundle and listing every other
  file but ``manifest.sig`` with its SM3 digest and byte length.
- ``manifest.sig``: the service's SM2 signature (DER) over ``manifest.json``'s bytes.
- ``signing_key.json``: the service's SM2 public key and its fingerprint.
- ``checkpoints.jsonl``: one signed checkpoint per line, sizes increasing.
- ``witnesses.json``: the registered witnesses (id, name, BLS key, PoP).
- ``entries.jsonl``: the selected entries, each its exact canonical bytes + ``\\n``.
- ``entry_index.csv``: ``seq,leaf_hash`` per entry, as logged by the service.
- ``multiproof.txt``: the multiproof of those leaves in the latest checkpoint, one hex hash a line.
- ``summary.html``, ``README.txt``: for people; informational only.
"""

from __future__ import annotations

from typing import Final

BUNDLE_TYPE: Final = "tracechain/audit-bundle"
BUNDLE_VERSION: Final = 1
HASH_NAME: Final = "sm3"

MANIFEST: Final = "manifest.json"
MANIFEST_SIGNATURE: Final = "manifest.sig"
SIGNING_KEY: Final = "signing_key.json"
CHECKPOINTS: Final = "checkpoints.jsonl"
WITNESSES: Final = "witnesses.json"
ENTRIES: Final = "entries.jsonl"
ENTRY_INDEX: Final = "entry_index.csv"
MULTIPROOF: Final = "multiproof.txt"
SUMMARY: Final = "summary.html"
README: Final = "README.txt"

LISTED_FILES: Final = (
    README,
    SUMMARY,
    SIGNING_KEY,
    WITNESSES,
    CHECKPOINTS,
    ENTRIES,
    ENTRY_INDEX,
    MULTIPROOF,
)
"""Files the manifest must list (it may list more; it never lists itself nor manifest.sig)."""

ENTRY_INDEX_HEADER: Final = b"seq,leaf_hash"
SIGNING_KEY_ALGORITHM: Final = "sm2-sm3"
ANCHOR_FIELDS: Final = ("chain_id", "contract", "tx", "block", "block_hash", "anchor_id", "network")
MULTIPROOF_ORDER: Final = "rfc9162-post-order-v1"
"""Names the element order documented in `crypto.merkle` (one leaf: its inclusion proof)."""
