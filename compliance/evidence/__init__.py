"""Contract proofs (存证): the statement parties sign, its leaf, its certificate and verifier.

Pure: no server, no database. `trace_api.evidence` stores and anchors proofs; the
formats are in `docs/evidence.md`.

- `compliance.evidence.statement`: the canonical statement, party signatures, the leaf.
- `compliance.evidence.certificate`: the certificate document, read back strictly.
- `compliance.evidence.verify`: checking a certificate (and document, and chain) offline.
"""
