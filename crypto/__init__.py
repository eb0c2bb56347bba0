"""Pure cryptographic functions for the traceability service: no I/O, no database, no server.

Modules:

- `crypto.sm3`: SM3 hashing (GB/T 32905).
- `crypto.sm4`: SM4-GCM sealing with internal nonces (GB/T 32907, RFC 8998).
- `crypto.sm2`: SM2 signatures with SM3 and the Z value (GB/T 32918).
- `crypto.envelope`: envelope encryption; keyrings with rotation and shredding.
- `crypto.merkle`: RFC 9162 Merkle trees, inclusion and consistency proofs.
- `crypto.serials`: random item serials in Crockford base32 with a check character.
- `crypto.errors`: the typed errors, all subclasses of `CryptoError`.
"""
