"""A batched leaf's proof document (DESIGN.md's): its inclusion path in its batch tree, the
root, and where the root is anchored, for any `LeafKind` (contract proofs, invoices).

Batch trees are rebuilt from their stored leaves and kept, a bounded number per
`BatchTrees`; a tree that does not give its batch's root, or a leaf that is not the one at
its index, is refused (``altered``, a 500) rather than proven.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.merkle import MerkleTree
from trace_api.anchoring import service as anchoring_service
from trace_api.audit.leaf_batches import LeafKind
from trace_api.errors import ServiceError
from trace_api.models import AnchorJob, ChainDeployment


class StoredLeafAltered(ServiceError):
    """A stored batch or leaf no longer gives what was anchored."""

    status = 500
    slug = "stored-leaf-altered"
    title = "Stored leaf does not check out"


class BatchTrees:
    """Batch trees of one kind of leaf, rebuilt from their stored leaves, a bounded number
    kept (one per kind: batch ids of different kinds overlap)."""

    def __init__(
        self, kind: LeafKind, keep: int = 64, altered: type[ServiceError] = StoredLeafAltered
    ) -> None:
        self.kind = kind
        self.altered = altered
        self._keep = keep
        self._trees: OrderedDict[int, MerkleTree] = OrderedDict()
        self._lock = threading.Lock()

    def tree(self, batch: Any) -> MerkleTree:
        with self._lock:
            tree = self._trees.get(batch.id)
            if tree is not None:
                self._trees.move_to_end(batch.id)
                return tree
        blob = bytes(batch.leaf_hashes)
        tree = MerkleTree.from_leaf_hashes(blob[i : i + 32] for i in range(0, len(blob), 32))
        if tree.size != batch.size or tree.root().hex() != batch.root:
            raise self.altered(
                f"{self.kind.anchor_kind} batch {batch.id}: its leaves do not give its root"
            )
        with self._lock:
            self._trees[batch.id] = tree
            while len(self._trees) > self._keep:
                self._trees.popitem(last=False)
        return tree


def batch_job(
    session: Session, kind: LeafKind, tenant_id: str, batch_id: int | None
) -> AnchorJob | None:
    """The anchor job of a batch (None before the leaf is batched)."""
    if batch_id is None:
        return None
    return session.scalar(
        select(AnchorJob).where(
            AnchorJob.tenant_id == tenant_id,
            AnchorJob.kind == kind.anchor_kind,
            AnchorJob.subject == kind.subject(batch_id),
        )
    )


def leaf_proof(
    session: Session, trees: BatchTrees, row: Any, job: AnchorJob | None
) -> dict[str, Any] | None:
    """The proof document of ``row``'s leaf, or None before it is batched."""
    if row.batch_id is None or row.leaf_index is None or job is None:
        return None
    batch = session.get(trees.kind.batches, row.batch_id)
    assert batch is not None  # a foreign key
    tree = trees.tree(batch)
    if row.leaf_hash is None or tree.leaf_hash_at(row.leaf_index) != bytes(row.leaf_hash):
        raise trees.altered(f"{trees.kind.anchor_kind} {row.id}: its leaf is not in its batch")
    deployment = session.get(ChainDeployment, job.deployment_id) if job.deployment_id else None
    anchor = anchoring_service.anchor_reference(job, deployment, None)
    anchor.pop("last_error", None)
    anchor["subject"] = job.subject
    return {
        "v": 1,
        "hash": "sm3",
        "leaf": tree.leaf_hash_at(row.leaf_index).hex(),
        "index": row.leaf_index,
        "tree_size": tree.size,
        "path": [p.hex() for p in tree.inclusion_proof(row.leaf_index)],
        "root": tree.root().hex(),
        "anchor": anchor,
    }
