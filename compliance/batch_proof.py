"""A leaf's proof in an anchored Merkle batch: read back strictly, checked offline and on chain.

The proof document (DESIGN.md), as JSON-decoded::

    {"v":1, "hash":"sm3", "leaf":<hex>, "index":<int>, "tree_size":<int>,
     "path":[<hex>...], "root":<hex>,
     "anchor":{"status", "anchor_id", "subject", "chain_id", "contract",
               "tx", "block", "block_hash", ...}}

The anchor holds ``status``, ``anchor_id`` and ``subject`` (from which, with the tenant
and the anchor kind, the anchor id derives); once confirmed also ``chain_id``,
``contract`` (EIP-55), ``tx``, ``block`` and ``block_hash`` (0x and lowercase hex), and
optionally ``network`` and ``development_chain`` (for people, bound to nothing);
nothing else.

Shared by every kind of batch anchored this way (contract proofs, e-invoices): the
caller gives the form of its subjects, its anchor kind (name and kind byte), the error
class to raise and the words its messages use. Pure: no service code, no I/O but the
chain read of `check_batch_on_chain`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils.address import is_checksum_address

from chain.anchor import AnchorContract, anchor_id_for
from chain.client import connect
from chain.verify import verify_anchor_on_chain
from compliance._findings import Findings
from crypto import merkle

__all__ = [
    "ANCHOR_STATUSES",
    "Anchor",
    "InclusionProof",
    "check_batch_on_chain",
    "check_batch_proof",
    "read_batch_proof",
]

ANCHOR_STATUSES = ("pending", "submitted", "confirmed", "failed")

_HEX32 = re.compile(r"[0-9a-f]{64}")
_0X_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_PROOF_KEYS = {"v", "hash", "leaf", "index", "tree_size", "path", "root", "anchor"}
_ANCHOR_KEYS = {"status", "anchor_id", "subject"}
_ANCHOR_ON_CHAIN = {"chain_id", "contract", "tx", "block", "block_hash"}  # once confirmed
_ANCHOR_FOR_PEOPLE = {"network", "development_chain"}  # optional, bound to nothing


@dataclass(frozen=True)
class Anchor:
    """Where a batch root is on chain, as the document says."""

    status: str
    anchor_id: str
    subject: str
    chain_id: int | None
    contract: str | None
    tx: str | None
    block: int | None
    block_hash: str | None = None


@dataclass(frozen=True)
class InclusionProof:
    """A leaf in its batch tree."""

    leaf: bytes
    index: int
    tree_size: int
    path: tuple[bytes, ...]
    root: bytes
    anchor: Anchor


def _is_version_1(value: Any) -> bool:
    return type(value) is int and value == 1  # not True, not 1.0


def _hex32(value: Any, where: str, error: type[Exception]) -> bytes:
    if not isinstance(value, str) or _HEX32.fullmatch(value) is None:
        raise error(f"{where} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


def _0x_hex32(value: Any, where: str, error: type[Exception]) -> str:
    if not isinstance(value, str) or _0X_HEX32.fullmatch(value) is None:
        raise error(f"{where} must be 0x and 64 lowercase hex digits")
    return value


def _int(value: Any, where: str, error: type[Exception]) -> int:
    if type(value) is not int or value < 0:
        raise error(f"{where} must be a non-negative integer")
    return value


def _keys(value: dict[str, Any], required: set[str], allowed: set[str]) -> str | None:
    """What is wrong with the keys of `value`, or None when they are right."""
    keys = set(value)
    if required <= keys <= allowed:
        return None
    return f"missing {sorted(required - keys)}, unexpected {sorted(keys - allowed)}"


def _anchor(
    value: Any, subject_pattern: re.Pattern[str], subject_form: str, error: type[Exception]
) -> Anchor:
    if not isinstance(value, dict):
        raise error("proof.anchor must be an object")
    allowed = _ANCHOR_KEYS | _ANCHOR_ON_CHAIN | _ANCHOR_FOR_PEOPLE
    if (wrong := _keys(value, _ANCHOR_KEYS, allowed)) is not None:
        raise error(f"proof.anchor: {wrong}")
    status = value["status"]
    if status not in ANCHOR_STATUSES:
        raise error(f"proof.anchor.status must be one of {', '.join(ANCHOR_STATUSES)}")
    subject = value["subject"]
    if not isinstance(subject, str) or subject_pattern.fullmatch(subject) is None:
        raise error(f"proof.anchor.subject must be {subject_form}")
    anchor_id = _0x_hex32(value["anchor_id"], "proof.anchor.anchor_id", error)
    if not isinstance(value.get("network", ""), str):
        raise error("proof.anchor.network must be a string")
    if not isinstance(value.get("development_chain", False), bool):
        raise error("proof.anchor.development_chain must be true or false")
    # Where on chain is said exactly when the anchor is confirmed, all of it or nothing.
    if set(value) & _ANCHOR_ON_CHAIN != (_ANCHOR_ON_CHAIN if status == "confirmed" else set()):
        raise error(
            f"proof.anchor: {', '.join(sorted(_ANCHOR_ON_CHAIN))} go with status confirmed, "
            "all of them"
        )
    if status != "confirmed":
        return Anchor(status, anchor_id, subject, None, None, None, None)
    contract = value["contract"]
    if not isinstance(contract, str) or not is_checksum_address(contract):
        raise error("proof.anchor.contract must be an EIP-55 checksummed address")
    chain_id = _int(value["chain_id"], "proof.anchor.chain_id", error)
    return Anchor(
        status=status,
        anchor_id=anchor_id,
        subject=subject,
        chain_id=chain_id,
        contract=contract,
        tx=_0x_hex32(value["tx"], "proof.anchor.tx", error),
        block=_int(value["block"], "proof.anchor.block", error),
        block_hash=_0x_hex32(value["block_hash"], "proof.anchor.block_hash", error),
    )


def read_batch_proof(
    value: Any, *, subject: re.Pattern[str], subject_form: str, error: type[Exception]
) -> InclusionProof | None:
    """The proof document (a dict, as JSON-decoded), or None for null, read strictly.

    `subject` is the form the anchor's subject must match in full, `subject_form` how
    messages name it (``evidence-batch-<n>``); whatever is off raises ``error(message)``,
    the message naming the member (``proof.path[2] must be 64 lowercase hex digits``).
    """
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not _is_version_1(value.get("v"))
        or value.get("hash") != "sm3"
    ):
        raise error("proof must be a version 1 SM3 proof document or null")
    if (wrong := _keys(value, _PROOF_KEYS, _PROOF_KEYS)) is not None:
        raise error(f"proof: {wrong}")
    path = value["path"]
    if not isinstance(path, list):
        raise error("proof.path must be an array")
    return InclusionProof(
        leaf=_hex32(value["leaf"], "proof.leaf", error),
        index=_int(value["index"], "proof.index", error),
        tree_size=_int(value["tree_size"], "proof.tree_size", error),
        path=tuple(_hex32(p, f"proof.path[{n}]", error) for n, p in enumerate(path)),
        root=_hex32(value["root"], "proof.root", error),
        anchor=_anchor(value["anchor"], subject, subject_form, error),
    )


def check_batch_proof(
    proof: InclusionProof | None,
    *,
    leaf: bytes,
    leaf_mismatch: str,
    anchor_kind: str,
    tenant: str,
    findings: Findings,
    what: str,
) -> bool:
    """Whether `proof` holds offline: True when it does, else one failure in `findings`.

    In order: there is a proof (else ``the {what} is not in an anchored batch yet``); its
    leaf is `leaf`, the one the caller computed (else `leaf_mismatch`, under
    ``proof.leaf``); the inclusion path leads from the leaf to the root; the anchor id is
    the one derived from `anchor_kind`, `tenant` and the anchor's subject; the anchor is
    confirmed. Leaves `findings.step` as it is: the caller sets it.
    """
    if proof is None:
        findings.fail("proof", f"the {what} is not in an anchored batch yet")
        return False
    if leaf != proof.leaf:
        findings.fail("proof.leaf", leaf_mismatch)
        return False
    if not merkle.verify_inclusion(
        proof.leaf, proof.index, proof.tree_size, list(proof.path), proof.root
    ):
        findings.fail("proof.path", "does not lead from the leaf to the root")
        return False
    anchor = proof.anchor
    derived = "0x" + anchor_id_for(anchor_kind, tenant, anchor.subject).hex()
    if anchor.anchor_id != derived:
        findings.fail("proof.anchor", f"anchor_id is not {derived}, derived from its batch")
        return False
    if anchor.status != "confirmed":
        findings.fail("proof.anchor", f"the batch is not anchored yet ({anchor.status})")
        return False
    return True


def check_batch_on_chain(
    proof: InclusionProof,
    *,
    rpc_url: str,
    expected_contract: str | None,
    min_confirmations: int,
    kind_byte: int,
    kind_name: str,
    findings: Findings,
    document_name: str,
) -> datetime | None:
    """The time of the block that anchored `proof`'s root, or None with a ``chain`` failure.

    Call it once `check_batch_proof` held (the anchor is confirmed, all of it said). The
    chain at `rpc_url` must be the anchor's and hold the root and tree size under the
    anchor id, with kind `kind_byte` (`kind_name`), in the contract the document names
    (which must be `expected_contract` when given), with `min_confirmations`, recorded in
    the block the document names by the transaction it names. Messages speak of the
    document as `document_name` (``the certificate``). Never raises.
    """
    anchor = proof.anchor
    assert anchor.contract is not None and anchor.tx is not None
    if expected_contract is not None and expected_contract.lower() != anchor.contract.lower():
        findings.fail(
            "chain", f"{document_name} names contract {anchor.contract}, not {expected_contract}"
        )
        return None
    anchor_id = bytes.fromhex(anchor.anchor_id.removeprefix("0x"))
    try:
        client = connect(rpc_url, read_only=True)
        if client.chain_id != anchor.chain_id:
            findings.fail(
                "chain", f"the anchor is on chain {anchor.chain_id}; {rpc_url} is {client.chain_id}"
            )
            return None
        check = verify_anchor_on_chain(
            client, anchor.contract, anchor_id, proof.root, proof.tree_size, min_confirmations
        )
        # verify_anchor_on_chain checked the contract's code before it read the anchor
        receipt = AnchorContract(client, anchor.contract).receipt(anchor.tx) if check.ok else None
    except Exception as exc:  # ChainUnavailable, a bad URL, the node failing mid-way
        findings.fail("chain", f"cannot read the chain at {rpc_url}: {exc}")
        return None
    onchain = check.onchain
    if not check.ok or onchain is None:
        findings.fail("chain", check.describe())
        return None
    if onchain.kind != kind_byte:
        findings.fail("chain", f"the anchor has kind {onchain.kind}, not {kind_byte} ({kind_name})")
        return None
    if onchain.block_number != anchor.block:
        findings.fail(
            "chain",
            f"the anchor is in block {onchain.block_number}; {document_name} says {anchor.block}",
        )
        return None
    if receipt is None or not receipt.succeeded or anchor_id not in receipt.anchor_ids:
        findings.fail("chain", f"transaction {anchor.tx} did not anchor {anchor.anchor_id}")
        return None
    if receipt.block_number != anchor.block or receipt.block_hash != anchor.block_hash:
        findings.fail(
            "chain",
            f"transaction {anchor.tx} is in block {receipt.block_number} "
            f"({receipt.block_hash}); {document_name} says {anchor.block} ({anchor.block_hash})",
        )
        return None
    return datetime.fromtimestamp(onchain.timestamp, UTC)
