"""Contract proofs for the tests: a signed statement as a leaf of a real Merkle batch.

`make_proof` signs a statement of `DOCUMENT` by its parties and puts its leaf among others
in an SM3 tree; `Proof.certificate` wraps it with an anchor, either `fake_anchor` (for
checks that never read a chain) or `anchor_on_chain`'s, which anchors the batch root on a
real node as the service's worker does (kind 3, id derived from the batch subject).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chain import AnchorContract, anchor_id_for
from compliance.evidence.certificate import (
    ANCHOR_KIND,
    batch_subject,
    certificate_bytes,
    certificate_json,
)
from compliance.evidence.statement import (
    Party,
    Signature,
    Statement,
    leaf_hash,
    sign_statement,
)
from compliance.evidence.verify import EVIDENCE_KIND_BYTE, document_digests
from crypto import merkle, sm2
from crypto.sm3 import sm3

TENANT = "acme"
EVIDENCE_ID = "ev-2026-0001"
TITLE = "华东区经销协议 / East China distribution agreement"
CREATED_AT = datetime(2026, 12, 6, 8, 30, tzinfo=UTC)
SERVICE = "https://trace.example.com"
DOCUMENT = (
    "经销协议：甲方授权乙方在华东区销售。\nDistribution agreement, East China.\n".encode() * 40
)

PARTIES = (
    Party("brand", "华夏饮品有限公司", "91310000MA1K4ABCDG", "org-brand"),
    Party("dealer", "东方经销商贸有限公司", "91440300MA5F000007"),
    Party("notary", "Notary Office of Pudong", None, None, required=False),
)
# Fixed keys, so a failing run can be replayed; SM2 signatures still differ run to run.
KEYS = {p.ref: sm2.PrivateKey.from_bytes(sm3(f"test party {p.ref}".encode())) for p in PARTIES}


@dataclass(frozen=True)
class Proof:
    """A signed statement and its batch: everything a certificate is made of but the anchor."""

    statement: Statement
    signatures: tuple[Signature, ...]
    batch_id: int
    tree: merkle.MerkleTree = field(repr=False)
    index: int

    @property
    def subject(self) -> str:
        return batch_subject(self.batch_id)

    @property
    def anchor_id(self) -> str:
        return "0x" + anchor_id_for(ANCHOR_KIND, self.statement.tenant, self.subject).hex()

    def certificate(
        self, anchor: dict[str, Any] | None, *, status: str = "anchored"
    ) -> dict[str, Any]:
        """The certificate document; ``anchor`` None means not yet in a batch (proof null)."""
        proof = None
        if anchor is not None:
            proof = {
                "v": 1,
                "hash": "sm3",
                "leaf": self.tree.leaf_hash_at(self.index).hex(),
                "index": self.index,
                "tree_size": self.tree.size,
                "path": [p.hex() for p in self.tree.inclusion_proof(self.index)],
                "root": self.tree.root().hex(),
                "anchor": {"subject": self.subject, **anchor},
            }
        return certificate_json(
            statement=self.statement,
            signatures=self.signatures,
            status=status,
            proof=proof,
            verify_url=f"{SERVICE}/v1/evidence/{self.statement.evidence_id}/verify",
        )

    def certificate_bytes(self, anchor: dict[str, Any] | None, **kwargs: Any) -> bytes:
        return certificate_bytes(self.certificate(anchor, **kwargs))


def make_statement(
    document: bytes = DOCUMENT,
    *,
    parties: tuple[Party, ...] = PARTIES,
    title: str = TITLE,
    evidence_id: str = EVIDENCE_ID,
) -> Statement:
    size, digests = document_digests(io.BytesIO(document))
    return Statement(
        tenant=TENANT,
        evidence_id=evidence_id,
        title=title,
        kind="agreement",
        digests=digests,
        size=size,
        parties=parties,
        links=(("organisation", "org-brand"), ("batch", "lot-2026-12")),
        created_at=CREATED_AT,
    )


def sign(statement: Statement, ref: str, key: sm2.PrivateKey | None = None) -> Signature:
    """Party ``ref``'s signature (with its own key unless ``key`` is given)."""
    key = key or KEYS[ref]
    return Signature(
        party=ref,
        public_key=key.public_key.hex(),
        signature=sign_statement(key, statement).hex(),
        signed_at=CREATED_AT + timedelta(minutes=len(ref)),
    )


def make_proof(
    statement: Statement | None = None,
    *,
    signers: tuple[str, ...] = ("brand", "dealer", "notary"),
    signatures: tuple[Signature, ...] | None = None,
    batch_id: int = 7,
    batch_size: int = 5,
    index: int = 2,
) -> Proof:
    """A statement signed by ``signers``, its leaf at ``index`` of a batch of ``batch_size``."""
    statement = statement or make_statement()
    if signatures is None:
        signatures = tuple(sign(statement, ref) for ref in signers)
    ours = leaf_hash(statement, signatures)
    others = (merkle.leaf_hash(f"another proof {n}".encode()) for n in range(batch_size))
    leaves = [ours if n == index else next(others) for n in range(batch_size)]
    tree = merkle.MerkleTree.from_leaf_hashes(leaves)
    return Proof(statement, signatures, batch_id, tree, index)


def fake_anchor(proof: Proof, **changes: Any) -> dict[str, Any]:
    """A confirmed anchor as the service writes it, for checks that do not read the chain."""
    anchor = {
        "status": "confirmed",
        "anchor_id": proof.anchor_id,
        "chain_id": 31337,
        "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "network": "anvil development chain 31337 at 127.0.0.1:8545",
        "development_chain": False,
        "tx": "0x" + sm3(b"tx").hex(),
        "block": 12,
        "block_hash": "0x" + sm3(b"block").hex(),
    }
    return {**anchor, **changes}


def anchor_on_chain(
    contract: AnchorContract,
    proof: Proof,
    *,
    root: bytes | None = None,
    size: int | None = None,
    kind: int = EVIDENCE_KIND_BYTE,
) -> dict[str, Any]:
    """Anchor the proof's batch root on chain (or another root, size or kind) and say where."""
    anchor_id = bytes.fromhex(proof.anchor_id[2:])
    tx = contract.anchor(
        anchor_id, root or proof.tree.root(), proof.tree.size if size is None else size, kind
    )
    receipt = contract.wait_for_receipt(tx)
    return {
        "status": "confirmed",
        "anchor_id": proof.anchor_id,
        "chain_id": contract.client.chain_id,
        "contract": contract.address,
        "network": contract.client.network_label,
        "development_chain": contract.client.is_embedded,
        "tx": receipt.tx_hash,
        "block": receipt.block_number,
        "block_hash": receipt.block_hash,
    }


REMOVE = object()


def set_path(document: Any, path: str, value: Any) -> None:
    """Set the member at ``path`` ("proof.path.0") to ``value``, ``value(old)`` or REMOVE it."""
    *parents, last = path.split(".")
    target = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is REMOVE:
        del target[key]
    else:
        target[key] = value(target[key]) if callable(value) else value
