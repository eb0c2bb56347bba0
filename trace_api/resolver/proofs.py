"""Inclusion proofs of codes: batch trees kept in memory, anchors, the proof document.

The proof document is the stable format of DESIGN.md::

    {"v":1, "hash":"sm3", "leaf":<hex>, "index":<int>, "tree_size":<int>, "path":[<hex>...],
     "root":<hex>, "anchor":{"status", "anchor_id", "chain_id", "contract", "tx", "block",
     "block_hash", "confirmations", ...}}

``leaf``, ``path`` and ``root`` are 64 lowercase hex digits (no ``0x``); anchor fields are
as the chain writes them (``0x`` hex). It verifies with `crypto.merkle.verify_inclusion`
alone, and ``anchor`` says where to find ``root`` on chain.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from chain import ChainError
from crypto.merkle import MerkleTree
from trace_api.anchoring import service as anchoring_service
from trace_api.anchoring.gateway import ChainGateway
from trace_api.models import AnchorJob, ChainDeployment, CodeTree

PROOF_VERSION = 1


def proof_document(tree: MerkleTree, index: int, anchor: dict[str, Any]) -> dict[str, Any]:
    """The self-describing inclusion proof of leaf ``index``."""
    return {**proof_core(tree, index), "anchor": anchor}


def proof_core(tree: MerkleTree, index: int) -> dict[str, Any]:
    """The proof document but its ``anchor`` (which changes as the chain grows)."""
    return {
        "v": PROOF_VERSION,
        "hash": tree.hash_name,
        "leaf": tree.leaf_hash_at(index).hex(),
        "index": index,
        "tree_size": tree.size,
        "path": [element.hex() for element in tree.inclusion_proof(index)],
        "root": tree.root().hex(),
    }


class BatchTrees:
    """Batch trees built from their stored leaf hashes, least recently used dropped first."""

    def __init__(self, max_leaves: int) -> None:
        self._max_leaves = max_leaves
        self._trees: OrderedDict[int, MerkleTree] = OrderedDict()
        self._leaves = 0
        self._lock = threading.Lock()

    def tree(
        self, db: Session | Connection, issuance_id: int, root_hex: str | None
    ) -> MerkleTree | None:
        """The issuance's tree, or None if the stored leaves do not give its recorded root."""
        with self._lock:
            tree = self._trees.get(issuance_id)
            if tree is not None:
                self._trees.move_to_end(issuance_id)
        if tree is None:
            blob = db.scalar(
                select(CodeTree.leaf_hashes).where(CodeTree.issuance_id == issuance_id)
            )
            if blob is None:
                return None
            tree = MerkleTree.from_leaf_hashes(blob[i : i + 32] for i in range(0, len(blob), 32))
            self._keep(issuance_id, tree)
        if root_hex is None or "0x" + tree.root().hex() != root_hex:
            self.forget(issuance_id)  # it may have been altered: read it again next time
            return None
        return tree

    def _keep(self, issuance_id: int, tree: MerkleTree) -> None:
        with self._lock:
            if issuance_id in self._trees:
                return
            self._trees[issuance_id] = tree
            self._leaves += tree.size
            while self._leaves > self._max_leaves and self._trees:
                _, dropped = self._trees.popitem(last=False)
                self._leaves -= dropped.size

    def forget(self, issuance_id: int) -> None:
        with self._lock:
            dropped = self._trees.pop(issuance_id, None)
            if dropped is not None:
                self._leaves -= dropped.size


class AnchorLookup:
    """Anchor references of jobs, with the chain head read at most every few seconds."""

    def __init__(self, gateway: ChainGateway, max_age: float) -> None:
        self._gateway = gateway
        self._max_age = max_age
        self._head: tuple[float, int | None] = (float("-inf"), None)
        # job id -> (read at, the reference, when the job was confirmed)
        self._references: dict[int, tuple[float, dict[str, Any], datetime | None]] = {}
        self._lock = threading.Lock()
        self.clock: Callable[[], float] = time.monotonic

    def head(self) -> int | None:
        """The chain's latest block, if the chain is connected (never connects from here)."""
        now = self.clock()
        with self._lock:
            stamp, value = self._head
            if now - stamp < self._max_age:
                return value
        value = None
        if self._gateway.state.connected:
            try:
                contract, _ = self._gateway.contract()
                value = contract.client.block_number()
            except ChainError:
                value = None
        with self._lock:
            self._head = (now, value)
        return value

    def reference(self, session: Callable[[], Session], job_id: int | None) -> dict[str, Any]:
        """The ``anchor`` member of a proof for the issuance's anchor job.

        ``session`` gives a session for the database reads, when the cached reference has
        grown older than the chain head's cache age.
        """
        if job_id is None:
            return {"status": "none"}
        now = self.clock()
        cached = self._references.get(job_id)
        if cached is not None and now - cached[0] < self._max_age:
            return dict(cached[1])
        reference, confirmed_at = self._read(session(), job_id)
        if len(self._references) > 10_000:
            self._references.clear()
        self._references[job_id] = (now, reference, confirmed_at)
        return dict(reference)

    def confirmed_at(self, job_id: int | None) -> datetime | None:
        """When the job's anchor was confirmed, as last read by `reference` (None: not yet)."""
        cached = self._references.get(job_id) if job_id is not None else None
        return None if cached is None else cached[2]

    def _read(self, session: Session, job_id: int) -> tuple[dict[str, Any], datetime | None]:
        job = session.get(AnchorJob, job_id)
        if job is None:
            return {"status": "none"}, None
        deployment = session.get(ChainDeployment, job.deployment_id) if job.deployment_id else None
        head = self.head() if job.status == "confirmed" else None
        confirmed_at = job.confirmed_at if job.status == "confirmed" else None
        return anchoring_service.anchor_reference(job, deployment, head), confirmed_at
