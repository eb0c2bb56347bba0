"""Bundle verification, step 7: each anchored checkpoint against the chain, read-only.

The anchor id is derived from the tenant and the checkpoint size, never
taken from the bundle; the on-chain ``meta`` must be the fingerprint of the
bundle's signing key, which is what binds that key to the chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chain.anchor import anchor_id_for
from chain.client import connect
from chain.verify import verify_anchor_on_chain
from compliance import _layout as layout
from compliance._findings import Findings
from compliance._verify_checkpoints import ListedCheckpoint
from compliance.checkpoint import ANCHOR_KIND, ANCHOR_NAMESPACE, signing_key_fingerprint
from crypto import sm2


@dataclass(frozen=True)
class ChainReport:
    """How many anchors were read, and whether all of them name the bundle's signing key."""

    anchors_checked: int
    key_bound: bool


def check_anchors(
    rpc_url: str,
    listed: Sequence[ListedCheckpoint],
    tenant_id: str,
    key: sm2.PublicKey | None,
    min_confirmations: int,
    findings: Findings,
) -> ChainReport:
    """Each anchored checkpoint against the chain at `rpc_url` (read-only)."""
    findings.step = 7
    anchored = [item for item in listed if item.anchor is not None]
    if not anchored:
        findings.fail(layout.CHECKPOINTS, "no checkpoint is anchored: nothing to check on chain")
        return ChainReport(0, key_bound=False)
    try:
        client = connect(rpc_url, read_only=True)
    except Exception as exc:  # ChainUnavailable, a bad URL, ...: all mean "could not check"
        findings.fail("chain", f"cannot read the chain at {rpc_url}: {exc}")
        return ChainReport(0, key_bound=False)
    fingerprint = signing_key_fingerprint(key) if key is not None else None
    bound, checked = True, 0
    for item in anchored:
        reference, cp = item.anchor, item.checkpoint
        assert reference is not None
        if reference.chain_id != client.chain_id:
            findings.fail(
                item.where,
                f"is anchored on chain {reference.chain_id}, but {rpc_url} is chain "
                f"{client.chain_id}",
            )
            bound = False
            continue
        anchor_id = anchor_id_for(ANCHOR_NAMESPACE, tenant_id, str(cp.size))
        try:
            check = verify_anchor_on_chain(
                client, reference.contract, anchor_id, cp.root, cp.size, min_confirmations
            )
        except Exception as exc:  # the node failing mid-way
            findings.fail(item.where, f"its anchor could not be read: {exc}")
            bound = False
            continue
        checked += 1
        onchain = check.onchain
        if not check.ok or onchain is None:
            findings.fail(item.where, f"on chain: {check.describe()}")
            bound = False
        elif onchain.kind != ANCHOR_KIND:
            findings.fail(item.where, f"its anchor has kind {onchain.kind}, not {ANCHOR_KIND}")
            bound = False
        elif onchain.meta != fingerprint:
            findings.fail(
                item.where,
                f"was anchored by signing key fingerprint 0x{onchain.meta.hex()}, "
                "not that of the bundle's signing key",
            )
            bound = False
        elif onchain.block_number != reference.block:
            findings.note(
                f"{item.where}: anchored in block {onchain.block_number}, the bundle says "
                f"{reference.block} (re-anchored after a reorg?)"
            )
    return ChainReport(checked, key_bound=bound and key is not None)
