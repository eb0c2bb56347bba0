"""Anchoring: the outbox of Merkle roots, the chain gateway and the worker."""
