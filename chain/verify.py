"""Check one anchor against the chain: the on-chain half of offline bundle verification."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from chain.anchor import AnchorContract, OnChainAnchor, attach
from chain.client import ChainClient, connect
from chain.errors import ChainIdMismatch, ContractCodeMismatch


class AnchorStatus(enum.Enum):
    """The verdict of :func:`verify_anchor_on_chain`."""

    OK = "ok"
    MISSING = "missing"
    ROOT_MISMATCH = "root_mismatch"
    SIZE_MISMATCH = "size_mismatch"
    NOT_ENOUGH_CONFIRMATIONS = "not_enough_confirmations"
    NOT_TRACE_ANCHOR = "not_trace_anchor"


@dataclass(frozen=True)
class AnchorCheck:
    """What the chain says about one anchor, with the numbers behind the verdict."""

    status: AnchorStatus
    chain_id: int
    contract: ChecksumAddress
    anchor_id: bytes
    expected_root: bytes
    expected_size: int
    onchain: OnChainAnchor | None
    confirmations: int
    required_confirmations: int
    network_label: str

    @property
    def ok(self) -> bool:
        """True only for :attr:`AnchorStatus.OK`."""
        return self.status is AnchorStatus.OK

    def describe(self) -> str:
        """One sentence saying what was found, for CLI output and logs."""
        where = f"contract {self.contract} on chain {self.chain_id}"
        anchor = f"anchor 0x{self.anchor_id.hex()}"
        match self.status:
            case AnchorStatus.OK:
                return f"{anchor} matches {where} with {self.confirmations} confirmation(s)"
            case AnchorStatus.MISSING:
                return f"{anchor} is not recorded by {where}"
            case AnchorStatus.NOT_TRACE_ANCHOR:
                return f"{where} is not a TraceAnchor contract"
            case AnchorStatus.ROOT_MISMATCH:
                assert self.onchain is not None
                return (
                    f"{anchor}: {where} holds root 0x{self.onchain.root.hex()}, "
                    f"expected 0x{self.expected_root.hex()}"
                )
            case AnchorStatus.SIZE_MISMATCH:
                assert self.onchain is not None
                return (
                    f"{anchor}: {where} holds size {self.onchain.size}, "
                    f"expected {self.expected_size}"
                )
            case AnchorStatus.NOT_ENOUGH_CONFIRMATIONS:
                return (
                    f"{anchor} is on {where} but has {self.confirmations} confirmation(s), "
                    f"{self.required_confirmations} required"
                )
        raise AssertionError(self.status)  # pragma: no cover


def verify_anchor_on_chain(
    client_or_rpc_url: ChainClient | str,
    contract: str,
    anchor_id: bytes,
    root: bytes,
    size: int,
    min_confirmations: int = 1,
    *,
    expected_chain_id: int | None = None,
    timeout: float = 10.0,
) -> AnchorCheck:
    """Check that ``contract`` holds ``root`` of ``size`` leaves under ``anchor_id``.

    Given a URL, connects read-only (no key needed). The code at ``contract`` must be the
    committed TraceAnchor, or anyone could deploy a contract that answers whatever is asked.
    Raises ChainIdMismatch when ``expected_chain_id`` is given and differs, ChainUnavailable
    when the node cannot be reached; every other outcome is a verdict in the result.
    """
    if isinstance(client_or_rpc_url, str):
        client = connect(
            client_or_rpc_url, read_only=True, timeout=timeout, expected_chain_id=expected_chain_id
        )
    else:
        client = client_or_rpc_url
        if expected_chain_id is not None and client.chain_id != expected_chain_id:
            raise ChainIdMismatch(expected=expected_chain_id, actual=client.chain_id)

    def verdict(
        status: AnchorStatus, onchain: OnChainAnchor | None = None, confirmations: int = 0
    ) -> AnchorCheck:
        return AnchorCheck(
            status=status,
            chain_id=client.chain_id,
            contract=to_checksum_address(contract),
            anchor_id=bytes(anchor_id),
            expected_root=bytes(root),
            expected_size=size,
            onchain=onchain,
            confirmations=confirmations,
            required_confirmations=min_confirmations,
            network_label=client.network_label,
        )

    try:
        trace_anchor: AnchorContract = attach(client, contract)
    except ContractCodeMismatch:
        return verdict(AnchorStatus.NOT_TRACE_ANCHOR)
    onchain = trace_anchor.get_anchor(anchor_id)
    if onchain is None:
        return verdict(AnchorStatus.MISSING)
    confirmations = trace_anchor.confirmations(onchain.block_number)
    if onchain.root != bytes(root):
        return verdict(AnchorStatus.ROOT_MISMATCH, onchain, confirmations)
    if onchain.size != size:
        return verdict(AnchorStatus.SIZE_MISMATCH, onchain, confirmations)
    if confirmations < min_confirmations:
        return verdict(AnchorStatus.NOT_ENOUGH_CONFIRMATIONS, onchain, confirmations)
    return verdict(AnchorStatus.OK, onchain, confirmations)
