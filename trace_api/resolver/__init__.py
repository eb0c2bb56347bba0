"""The public side of codes: the GS1 resolver, the consumer scan page, proofs, PINs."""
