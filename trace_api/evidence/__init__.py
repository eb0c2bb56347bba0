"""Contract proofs (存证): stored, signed by their parties, batched and anchored.

- `parties`: who signs proofs (organisations of the tenant or outsiders by USCC) and
  their SM2 public keys, registered and revoked.
- `service`: submitting a proof, adding a party's signature, lists, search and reading one.
- `documents`: a proof's document kept sealed (SM4-GCM, chunk by chunk) under the
  tenant's data key, and streamed back.
- `batches`, `certificates`, `verification`: Merkle batches and their anchors, the
  certificate of a proof, the public checks.
- `routes` and `proof_routes`: the HTTP side.

The statement, its signatures and the certificate format are `compliance.evidence`'s.
"""
