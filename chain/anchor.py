"""The TraceAnchor contract: deploy or attach, anchor roots, read them back, follow receipts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_typing import ChecksumAddress
from eth_utils.abi import event_abi_to_log_topic, filter_abi_by_name
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3.types import TxReceipt

from chain._reverts import decode_custom_error, is_revert, revert_data
from chain.client import ChainClient
from chain.errors import (
    AlreadyAnchored,
    ChainError,
    ContractCodeMismatch,
    InvalidAnchorInput,
    NotAnchorer,
    NotOwner,
    TransactionReverted,
)
from contracts import ContractArtifact, load_artifact

T = TypeVar("T")

ANCHOR_ID_DOMAIN = "tracechain/anchor/v1"
ZERO32 = bytes(32)
_ZERO_ADDRESS = "0x" + "00" * 20
_GAS_HEADROOM = 1.2

_log = logging.getLogger(__name__)


def anchor_id_for(kind: str, tenant_id: str, subject: str) -> bytes:
    """Deterministic 32-byte anchor id of ``subject`` (e.g. a batch id) of ``kind`` in a tenant.

    ``keccak256(f(domain) || f(kind) || f(tenant_id) || f(subject))`` where ``f(s)`` is the
    UTF-8 bytes of ``s`` prefixed by their length as 4 big-endian bytes and ``domain`` is
    ``"tracechain/anchor/v1"``. Length prefixes make the encoding unambiguous (``("a", "bc")``
    and ``("ab", "c")`` differ); the domain tag keeps these ids apart from any other keccak
    use. Strings are encoded as given, without Unicode normalisation.
    """
    for name, value in (("kind", kind), ("tenant_id", tenant_id), ("subject", subject)):
        if not value:
            raise InvalidAnchorInput(f"{name} must not be empty")
    encoded = b"".join(
        len(raw).to_bytes(4, "big") + raw
        for raw in (s.encode("utf-8") for s in (ANCHOR_ID_DOMAIN, kind, tenant_id, subject))
    )
    return keccak(encoded)


@dataclass(frozen=True)
class OnChainAnchor:
    """What the contract holds under one anchor id."""

    anchor_id: bytes
    root: bytes
    size: int
    kind: int
    meta: bytes
    block_number: int
    timestamp: int
    anchorer: ChecksumAddress


@dataclass(frozen=True)
class AnchorReceipt:
    """The outcome of a mined transaction sent to the contract."""

    tx_hash: str
    status: int
    block_number: int
    block_hash: str
    gas_used: int
    anchor_ids: tuple[bytes, ...]
    """Ids of the ``Anchored`` events this contract emitted in the transaction."""

    @property
    def succeeded(self) -> bool:
        """True if the transaction executed without reverting."""
        return self.status == 1


@dataclass(frozen=True)
class AnchorItem:
    """One root to anchor with :meth:`AnchorContract.anchor_many`."""

    anchor_id: bytes
    root: bytes
    size: int
    kind: int
    meta: bytes = ZERO32


def _bytes32(name: str, value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise InvalidAnchorInput(f"{name} must be 32 bytes")
    return bytes(value)


def _check_item(item: AnchorItem) -> AnchorItem:
    anchor_id = _bytes32("anchor_id", item.anchor_id)
    root = _bytes32("root", item.root)
    if anchor_id == ZERO32 or root == ZERO32:
        raise InvalidAnchorInput("anchor_id and root must not be all zero")
    if not 0 <= item.size < 2**64:
        raise InvalidAnchorInput(f"size {item.size} does not fit in uint64")
    if not 0 <= item.kind < 2**8:
        raise InvalidAnchorInput(f"kind {item.kind} does not fit in uint8")
    return AnchorItem(anchor_id, root, item.size, item.kind, _bytes32("meta", item.meta))


def runtime_code_matches(actual: bytes, expected: bytes) -> bool:
    """Whether two runtime codes are equal, ignoring solc's trailing CBOR metadata.

    The metadata (source hash, compiler version) does not change behaviour, so a build from
    the same code with different comments still counts as the same contract.
    """
    return _strip_metadata(actual) == _strip_metadata(expected)


def _strip_metadata(code: bytes) -> bytes:
    # solc appends CBOR metadata followed by its length as two big-endian bytes.
    if len(code) < 2:
        return code
    length = int.from_bytes(code[-2:], "big")
    return code[: -(length + 2)] if length + 2 <= len(code) else code


class AnchorContract:
    """A TraceAnchor deployment, used through one :class:`ChainClient`."""

    def __init__(
        self, client: ChainClient, address: str, artifact: ContractArtifact | None = None
    ) -> None:
        self.client = client
        self.artifact = artifact if artifact is not None else load_artifact("TraceAnchor")
        self.address: ChecksumAddress = to_checksum_address(address)
        self.contract = client.w3.eth.contract(address=self.address, abi=self.artifact.abi)
        event = filter_abi_by_name("Anchored", self.artifact.abi)[0]
        self._anchored_topic = event_abi_to_log_topic(event)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<AnchorContract {self.address} on {self.client.network_label}>"

    # -- reads -------------------------------------------------------------------------------

    def _read(self, what: str, fn: Callable[[], T]) -> T:
        return self.client.call_with_retries(fn, what=f"TraceAnchor.{what}")

    def owner(self) -> ChecksumAddress:
        """The account that grants and revokes anchorer rights."""
        return to_checksum_address(self._read("owner", self.contract.functions.owner().call))

    def is_anchorer(self, account: str) -> bool:
        """Whether ``account`` may anchor."""
        fn = self.contract.functions.isAnchorer(to_checksum_address(account))
        return bool(self._read("isAnchorer", fn.call))

    def is_anchored(self, anchor_id: bytes) -> bool:
        """Whether the contract holds a root under ``anchor_id``."""
        fn = self.contract.functions.isAnchored(_bytes32("anchor_id", anchor_id))
        return bool(self._read("isAnchored", fn.call))

    def get_anchor(self, anchor_id: bytes) -> OnChainAnchor | None:
        """What was anchored under ``anchor_id`` (as of the latest block), or None."""
        anchor_id = _bytes32("anchor_id", anchor_id)
        fn = self.contract.functions.getAnchor(anchor_id)
        root, size, kind, meta, block_number, timestamp, anchorer = self._read("getAnchor", fn.call)
        if str(anchorer).lower() == _ZERO_ADDRESS:
            return None
        return OnChainAnchor(
            anchor_id=anchor_id,
            root=bytes(root),
            size=int(size),
            kind=int(kind),
            meta=bytes(meta),
            block_number=int(block_number),
            timestamp=int(timestamp),
            anchorer=to_checksum_address(anchorer),
        )

    def receipt(self, tx_hash: str) -> AnchorReceipt | None:
        """The mined outcome of ``tx_hash``, or None while it is pending or unknown."""
        raw = self.client.get_receipt(tx_hash)
        return None if raw is None else self._to_receipt(raw)

    def find_anchor_receipt(self, anchor_id: bytes) -> AnchorReceipt | None:
        """The receipt of the transaction that anchored ``anchor_id``, or None if none did.

        For adopting an anchor sent before a crash (or by another worker): the contract
        records the block, so one ``eth_getLogs`` over that block finds the Anchored event.
        """
        onchain = self.get_anchor(anchor_id)
        if onchain is None:
            return None
        block = onchain.block_number
        log_filter: Any = {
            "address": self.address,
            "topics": [HexBytes(self._anchored_topic).to_0x_hex(), HexBytes(anchor_id).to_0x_hex()],
            "fromBlock": block,
            "toBlock": block,
        }
        logs = self._read("Anchored logs", lambda: self.client.w3.eth.get_logs(log_filter))
        for log in logs:
            receipt = self.receipt(HexBytes(log["transactionHash"]).to_0x_hex())
            if receipt is not None and receipt.succeeded and anchor_id in receipt.anchor_ids:
                return receipt
        return None

    def wait_for_receipt(self, tx_hash: str, *, timeout: float = 120.0) -> AnchorReceipt:
        """Block until ``tx_hash`` is mined (ReceiptTimeout after ``timeout`` seconds)."""
        return self._to_receipt(self.client.wait_for_receipt(tx_hash, timeout=timeout))

    def confirmations(self, block_number: int) -> int:
        """How many blocks, counting ``block_number`` itself, the chain head is built on it.

        0 while the head is below ``block_number``; 1 when it is the head block.
        """
        head = self.client.block_number()
        return max(0, head - block_number + 1)

    def block_hash_at(self, number: int) -> str | None:
        """The canonical hash of block ``number``; compare with a stored hash to detect reorgs."""
        return self.client.block_hash_at(number)

    def _to_receipt(self, raw: TxReceipt) -> AnchorReceipt:
        anchor_ids = tuple(
            bytes(log["topics"][1])
            for log in raw["logs"]
            if to_checksum_address(log["address"]) == self.address
            and len(log["topics"]) > 1
            and bytes(log["topics"][0]) == self._anchored_topic
        )
        return AnchorReceipt(
            tx_hash=HexBytes(raw["transactionHash"]).to_0x_hex(),
            status=int(raw["status"]),
            block_number=int(raw["blockNumber"]),
            block_hash=HexBytes(raw["blockHash"]).to_0x_hex(),
            gas_used=int(raw["gasUsed"]),
            anchor_ids=anchor_ids,
        )

    # -- writes ------------------------------------------------------------------------------

    def anchor(
        self, anchor_id: bytes, root: bytes, size: int, kind: int, meta: bytes = ZERO32
    ) -> str:
        """Send ``anchor(...)``; return the transaction hash as 0x-hex without waiting.

        Raises AlreadyAnchored (checked against the chain before anything is signed),
        NotAnchorer, or InvalidAnchorInput.
        """
        item = _check_item(AnchorItem(anchor_id, root, size, kind, meta))
        if self.is_anchored(item.anchor_id):
            raise AlreadyAnchored(item.anchor_id)
        args = [item.anchor_id, item.root, item.size, item.kind, item.meta]
        return self._transact("anchor", args)

    def anchor_many(self, items: Sequence[AnchorItem]) -> str:
        """Anchor several roots in one transaction (all or none); return its hash."""
        checked = [_check_item(item) for item in items]
        if not checked:
            raise InvalidAnchorInput("nothing to anchor")
        if len({item.anchor_id for item in checked}) != len(checked):
            raise InvalidAnchorInput("anchor ids repeat within the batch")
        for item in checked:
            if self.is_anchored(item.anchor_id):
                raise AlreadyAnchored(item.anchor_id)
        args = [
            [item.anchor_id for item in checked],
            [item.root for item in checked],
            [item.size for item in checked],
            [item.kind for item in checked],
            [item.meta for item in checked],
        ]
        return self._transact("anchorMany", args)

    def grant_anchorer(self, account: str) -> str:
        """Authorise ``account`` to anchor (owner only); return the transaction hash."""
        return self._transact("grantAnchorer", [to_checksum_address(account)])

    def revoke_anchorer(self, account: str) -> str:
        """Withdraw ``account``'s right to anchor (owner only); return the transaction hash."""
        return self._transact("revokeAnchorer", [to_checksum_address(account)])

    def _transact(self, function: str, args: list[Any]) -> str:
        data = bytes(HexBytes(self.contract.encode_abi(function, args=args)))
        request = {"from": self.client.account, "to": self.address, "data": data}
        try:
            estimate = self.client.call_with_retries(
                lambda: int(self.client.w3.eth.estimate_gas(request)),  # type: ignore[arg-type]
                what=f"estimate TraceAnchor.{function}",
            )
        except Exception as exc:
            if is_revert(exc):
                raise self._explain_revert(function, exc) from exc
            raise
        gas = int(estimate * _GAS_HEADROOM)
        return self.client.send_transaction(to=self.address, data=data, gas=gas)

    def _explain_revert(self, function: str, exc: BaseException) -> ChainError:
        error = decode_custom_error(self.artifact.abi, revert_data(exc))
        if error is None:
            return TransactionReverted(f"TraceAnchor.{function} would revert: {exc}")
        if error.name == "AlreadyAnchored":
            return AlreadyAnchored(bytes(error.args[0]))
        if error.name == "NotAnchorer":
            return NotAnchorer(to_checksum_address(error.args[0]))
        if error.name == "NotOwner":
            return NotOwner(to_checksum_address(error.args[0]))
        if error.name in ("ZeroValue", "ZeroAddress", "LengthMismatch"):
            return InvalidAnchorInput(f"TraceAnchor.{function} rejected its input: {error.name}")
        return TransactionReverted(f"TraceAnchor.{function} would revert with {error.name}")


def attach(client: ChainClient, address: str) -> AnchorContract:
    """Use the TraceAnchor at ``address`` after checking its code is the committed artifact's."""
    artifact = load_artifact("TraceAnchor")
    checksum = to_checksum_address(address)
    code = client.get_code(checksum)
    if not code:
        raise ContractCodeMismatch(address=checksum, contract="TraceAnchor", reason="no code")
    if not runtime_code_matches(code, bytes(HexBytes(artifact.deployed_bytecode))):
        raise ContractCodeMismatch(
            address=checksum,
            contract="TraceAnchor",
            reason=f"its runtime code ({len(code)} bytes) differs from the artifact's",
        )
    return AnchorContract(client, checksum, artifact)


def deploy(client: ChainClient, *, timeout: float = 120.0) -> AnchorContract:
    """Deploy a new TraceAnchor owned by the client's account and make that account anchorer."""
    artifact = load_artifact("TraceAnchor")
    data = bytes(HexBytes(artifact.bytecode))
    request = {"from": client.account, "data": data}
    estimate = client.call_with_retries(
        lambda: int(client.w3.eth.estimate_gas(request)),  # type: ignore[arg-type]
        what="estimate TraceAnchor deployment",
    )
    tx_hash = client.send_transaction(to=None, data=data, gas=int(estimate * _GAS_HEADROOM))
    receipt = client.wait_for_receipt(tx_hash, timeout=timeout)
    address = receipt.get("contractAddress")
    if receipt["status"] != 1 or not address:
        raise TransactionReverted("TraceAnchor deployment reverted", tx_hash=tx_hash)
    contract = attach(client, address)
    grant = contract.wait_for_receipt(contract.grant_anchorer(client.account), timeout=timeout)
    if not grant.succeeded:
        raise TransactionReverted("granting anchorer rights reverted", tx_hash=grant.tx_hash)
    _log.info("deployed TraceAnchor at %s on %s", contract.address, client.network_label)
    return contract


def deploy_or_attach(
    client: ChainClient, address: str | None, *, timeout: float = 120.0
) -> AnchorContract:
    """Attach to the TraceAnchor at ``address``, or deploy one if there is none.

    Deploys when ``address`` is None or holds no code (a fresh dev chain), so the returned
    contract's address may differ from ``address``. Raises ContractCodeMismatch when
    ``address`` holds some other code.
    """
    if address is not None:
        if client.get_code(address):
            return attach(client, address)
        _log.warning(
            "no contract at %s on %s: deploying a new TraceAnchor", address, client.network_label
        )
    return deploy(client, timeout=timeout)
