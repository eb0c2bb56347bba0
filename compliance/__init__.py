"""Pure compliance logic: audit logs, checkpoints, witnesses, audit bundles and their verifier.

No server, no database: these modules import only `crypto`, `chain` and
`contracts` (and third-party libraries), so the offline verifier runs anywhere.

- `compliance.entry`: log entries, their canonical bytes and leaf hashes.
- `compliance.checkpoint`: SM2-signed checkpoints of a log, and the signing key's fingerprint.
- `compliance.witness`: BLS12-381 witness keys, cosignatures and their aggregation.
- `compliance.bundle`: writing an audit bundle (a zip), streaming.
- `compliance.verify`: checking one, offline and on chain; a typed verdict.
- `compliance.summary`: the human summary (summary.html) and README.txt of a bundle.
- `compliance.errors`: the typed errors, all subclasses of `ComplianceError`.
"""
