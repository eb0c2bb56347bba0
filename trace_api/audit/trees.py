"""Merkle trees of tenants' logs, built from the leaf hashes stored with the entries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto.merkle import MerkleTree
from trace_api.db import stream_rows
from trace_api.models import AuditEntry

_CHUNK = 50_000


def load_tree(
    session: Session, tenant_id: str, start: int = 0, tree: MerkleTree | None = None
) -> MerkleTree:
    """The tenant's log tree from stored leaf hashes, from ``start`` on into ``tree``.

    Raises LogGap when a sequence number is missing (a row was deleted).
    """
    tree = tree if tree is not None else MerkleTree("sm3")
    connection = session.connection()
    where = (AuditEntry.tenant_id == tenant_id, AuditEntry.seq >= start)
    count, last = connection.execute(
        select(func.count(), func.max(AuditEntry.seq)).where(*where)
    ).one()
    if count and last != start + count - 1:
        raise LogGap(tenant_id, _first_gap(session, tenant_id, start), last)
    # Leaf hashes only, fetched in large chunks: this runs over the whole log.
    query = select(AuditEntry.leaf_hash).where(*where).order_by(AuditEntry.seq)
    for chunk in stream_rows(session, query, _CHUNK):
        tree.extend_leaf_hashes([bytes(leaf) for (leaf,) in chunk])
    return tree


def _first_gap(session: Session, tenant_id: str, start: int) -> int:
    expected = start
    query = (
        select(AuditEntry.seq)
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq >= start)
        .order_by(AuditEntry.seq)
    )
    for seq in session.connection().execute(query).scalars():
        if seq != expected:
            return expected
        expected += 1
    return expected


class LogGap(Exception):
    """A sequence number is missing from the stored log: rows were removed."""

    def __init__(self, tenant_id: str, expected: int, found: int) -> None:
        super().__init__(f"log of tenant {tenant_id}: entry {expected} missing (next is {found})")
        self.seq = expected


class LogTrees:
    """A cache of tenants' log trees; each is grown from the database as the log grows."""

    def __init__(self) -> None:
        self._trees: dict[str, MerkleTree] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def tree(self, session: Session, tenant_id: str) -> Iterator[MerkleTree]:
        """The tenant's tree, current with what ``session`` sees, held locked while in use."""
        with self._lock_for(tenant_id):
            tree = self._trees.get(tenant_id)
            tree = load_tree(session, tenant_id, tree.size if tree else 0, tree)
            self._trees[tenant_id] = tree
            yield tree

    def replace(self, tenant_id: str, tree: MerkleTree) -> None:
        """Swap in a tree rebuilt (and checked) from the database."""
        with self._lock_for(tenant_id):
            self._trees[tenant_id] = tree

    def _lock_for(self, tenant_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant_id, threading.Lock())
