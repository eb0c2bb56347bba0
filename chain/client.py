"""A connected chain client: the embedded eth-tester chain or any EVM JSON-RPC node over HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt, Wei

from chain._retry import RetryPolicy, with_retries
from chain._sending import TransactionSender
from chain.errors import (
    ChainError,
    ChainIdMismatch,
    ReadOnlyClient,
    ReceiptTimeout,
    SigningKeyRequired,
)

T = TypeVar("T")

EMBEDDED = "embedded"
EMBEDDED_LABEL = "embedded development chain (ephemeral)"

# anvil's first account for its default mnemonic "test test ... junk". Public knowledge: it is
# only ever used against an anvil node that itself reports this account as its first.
_ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
_ANVIL_CHAIN_ID = 31337
_EMBEDDED_FUNDING = Wei(10_000 * 10**18)

_log = logging.getLogger(__name__)


class ChainClient:
    """One node connection plus, unless read-only, one local signing account.

    Reads retry transient failures with exponential backoff; sends go through a nonce
    allocator and fee strategy shared by every thread using this client.
    """

    def __init__(
        self,
        *,
        w3: Web3,
        chain_id: int,
        is_embedded: bool,
        network_label: str,
        signer: LocalAccount | None,
        retry: RetryPolicy,
    ) -> None:
        self.w3 = w3
        self.chain_id = chain_id
        self.is_embedded = is_embedded
        self.network_label = network_label
        self.retry = retry
        self._signer = signer
        self._sender = None if signer is None else TransactionSender(w3, signer, chain_id, retry)

    def __repr__(self) -> str:
        return f"<ChainClient {self.network_label}>"

    @property
    def read_only(self) -> bool:
        """True when the client has no signing key and cannot send transactions."""
        return self._signer is None

    @property
    def account(self) -> ChecksumAddress:
        """The address transactions are sent from."""
        if self._signer is None:
            raise ReadOnlyClient(f"{self.network_label} was opened read-only: no account")
        return ChecksumAddress(self._signer.address)

    @property
    def uses_eip1559(self) -> bool:
        """Whether transactions currently carry EIP-1559 fees (False after a legacy fallback)."""
        return self._require_sender().fees.uses_eip1559

    def call_with_retries(self, fn: Callable[[], T], *, what: str) -> T:
        """Run a read ``fn`` against the node, retrying transient failures per the policy."""
        return with_retries(fn, self.retry, what=what)

    def block_number(self) -> int:
        """The number of the node's latest block."""
        return self.call_with_retries(lambda: int(self.w3.eth.block_number), what="eth_blockNumber")

    def block_hash_at(self, number: int) -> str | None:
        """The canonical hash of block ``number`` as 0x-hex, or None if it does not exist yet."""
        if number < 0:
            return None

        def read() -> str | None:
            if number > int(self.w3.eth.block_number):
                return None
            block = self.w3.eth.get_block(number)
            block_hash = block.get("hash")
            return None if block_hash is None else HexBytes(block_hash).to_0x_hex()

        return self.call_with_retries(read, what=f"eth_getBlockByNumber({number})")

    def get_code(self, address: str) -> bytes:
        """The runtime code at ``address`` (empty for an account without code)."""
        checksum = to_checksum_address(address)
        return self.call_with_retries(
            lambda: bytes(self.w3.eth.get_code(checksum)), what="eth_getCode"
        )

    def healthy(self) -> tuple[bool, str]:
        """Whether the node answers, on the configured chain, with a one-line reason. Never raises.

        One attempt, no retries: this is for health endpoints, which should answer quickly.
        """
        try:
            chain_id = int(self.w3.eth.chain_id)
            if chain_id != self.chain_id:
                return False, (
                    f"{self.network_label}: node now reports chain id {chain_id}, "
                    f"expected {self.chain_id}"
                )
            number = int(self.w3.eth.block_number)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else ""
            return False, f"{self.network_label} unreachable: {type(exc).__name__}: {reason}"[:300]
        return True, f"{self.network_label}: chain {chain_id}, block {number}"

    def next_nonce(self) -> int:
        """The nonce the next transaction from :attr:`account` will use."""
        sender = self._require_sender()
        return self.call_with_retries(sender.nonces.peek, what="eth_getTransactionCount")

    def resync_nonce(self) -> None:
        """Drop the cached nonce so the next send re-reads it (after a reorg or a revert)."""
        if self._sender is not None:
            with self._sender.nonces.lock:
                self._sender.nonces.forget()

    def send_transaction(
        self, *, to: ChecksumAddress | None, data: bytes = b"", value: int = 0, gas: int
    ) -> str:
        """Sign with the local key and send; return the transaction hash as 0x-hex.

        ``to=None`` creates a contract. The caller supplies ``gas`` (estimate it first, so a
        reverting call fails before anything is signed).
        """
        return self._require_sender().send(to=to, data=data, value=value, gas=gas)

    def get_receipt(self, tx_hash: str) -> TxReceipt | None:
        """The receipt of ``tx_hash``, or None while it is pending or unknown."""

        def read() -> TxReceipt | None:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return None

        return self.call_with_retries(read, what="eth_getTransactionReceipt")

    def wait_for_receipt(
        self, tx_hash: str, *, timeout: float = 120.0, poll_interval: float = 0.2
    ) -> TxReceipt:
        """Poll until ``tx_hash`` is mined; raise ReceiptTimeout after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.get_receipt(tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() >= deadline:
                raise ReceiptTimeout(tx_hash=tx_hash, timeout=timeout)
            time.sleep(poll_interval)

    def for_key(self, private_key: str) -> ChainClient:
        """Another client on the same node and chain, signing with ``private_key``.

        On the embedded chain the new account is funded with dev ether. Use one client per key
        and process: two clients on one key keep separate nonce caches (they recover, by
        re-reading after the node refuses a stale nonce, but they do so through an error).
        """
        signer = Account.from_key(private_key)
        if self.is_embedded:
            _fund_on_embedded(self.w3, signer.address)
        return ChainClient(
            w3=self.w3,
            chain_id=self.chain_id,
            is_embedded=self.is_embedded,
            network_label=self.network_label,
            signer=signer,
            retry=self.retry,
        )

    def _require_sender(self) -> TransactionSender:
        if self._sender is None:
            raise ReadOnlyClient(f"{self.network_label} was opened read-only: cannot send")
        return self._sender


def connect(
    url: str,
    *,
    private_key: str | None = None,
    timeout: float = 10.0,
    expected_chain_id: int | None = None,
    read_only: bool = False,
    retry: RetryPolicy | None = None,
) -> ChainClient:
    """Connect to ``url`` and return a ready client.

    ``url="embedded"`` starts a fresh in-process eth-tester/py-evm chain (ephemeral: it lives
    as long as the client); anything else must be an ``http(s)://`` JSON-RPC URL. Without
    ``private_key`` the embedded chain signs with a funded eth-tester account and an anvil node
    with anvil's first default key; any other node needs a key unless ``read_only``. A key
    given for the embedded chain is funded from the dev account. Raises ChainIdMismatch when
    ``expected_chain_id`` differs from the node's, ChainUnavailable when it cannot be reached.
    """
    policy = retry if retry is not None else RetryPolicy()
    if url == EMBEDDED:
        return _connect_embedded(private_key, expected_chain_id, read_only, policy)
    return _connect_rpc(url, private_key, timeout, expected_chain_id, read_only, policy)


def _check_chain_id(expected: int | None, actual: int) -> None:
    if expected is not None and expected != actual:
        raise ChainIdMismatch(expected=expected, actual=actual)


def _connect_embedded(
    private_key: str | None, expected_chain_id: int | None, read_only: bool, policy: RetryPolicy
) -> ChainClient:
    provider = EthereumTesterProvider()
    w3 = Web3(provider)
    chain_id = int(w3.eth.chain_id)
    _check_chain_id(expected_chain_id, chain_id)
    tester = provider.ethereum_tester
    assert tester is not None  # set by EthereumTesterProvider.__init__
    signer: LocalAccount | None = None
    if not read_only:
        if private_key is None:
            signer = Account.from_key(tester.backend.account_keys[0].to_bytes())
        else:
            signer = Account.from_key(private_key)
            _fund_on_embedded(w3, signer.address)
    return ChainClient(
        w3=w3,
        chain_id=chain_id,
        is_embedded=True,
        network_label=EMBEDDED_LABEL,
        signer=signer,
        retry=policy,
    )


def _fund_on_embedded(w3: Web3, address: ChecksumAddress) -> None:
    """Give ``address`` dev ether on the embedded chain unless it has some already."""
    if w3.eth.get_balance(address) > 0:
        return
    # eth-tester's accounts are unlocked; the last one is the faucet so that the first, the
    # default signer, keeps a nonce sequence nobody else touches.
    faucet = w3.eth.accounts[-1]
    tx_hash = w3.eth.send_transaction({"from": faucet, "to": address, "value": _EMBEDDED_FUNDING})
    w3.eth.wait_for_transaction_receipt(tx_hash)


def _host_port(url: str) -> str:
    # Host and port only: paths and user-info of hosted RPC URLs often carry API keys.
    parts = urlsplit(url)
    where = parts.hostname or "?"
    return where if parts.port is None else f"{where}:{parts.port}"


def _connect_rpc(
    url: str,
    private_key: str | None,
    timeout: float,
    expected_chain_id: int | None,
    read_only: bool,
    policy: RetryPolicy,
) -> ChainClient:
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise ChainError(f"unsupported chain URL {url!r}: use {EMBEDDED!r} or an http(s):// URL")
    provider = HTTPProvider(
        url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
    )
    w3 = Web3(provider)
    chain_id = with_retries(lambda: int(w3.eth.chain_id), policy, what="eth_chainId")
    _check_chain_id(expected_chain_id, chain_id)
    client_version = _client_version(w3, policy)
    is_anvil = client_version.lower().startswith("anvil/") and chain_id == _ANVIL_CHAIN_ID
    if is_anvil:
        label = f"anvil development chain {chain_id} at {_host_port(url)}"
    else:
        node = client_version.split("/")[0] or "JSON-RPC node"
        label = f"chain {chain_id} via {node} at {_host_port(url)}"
    signer: LocalAccount | None = None
    if not read_only:
        if private_key is not None:
            signer = Account.from_key(private_key)
        elif is_anvil and _anvil_uses_default_accounts(w3, policy):
            _log.warning("no private key given: signing with anvil's first default dev key")
            signer = Account.from_key(_ANVIL_DEV_KEY)
        else:
            raise SigningKeyRequired(
                f"no private key configured for {label}: pass private_key, or connect "
                "read_only=True to only read"
            )
    return ChainClient(
        w3=w3,
        chain_id=chain_id,
        is_embedded=False,
        network_label=label,
        signer=signer,
        retry=policy,
    )


def _client_version(w3: Web3, policy: RetryPolicy) -> str:
    try:
        return with_retries(lambda: str(w3.client_version), policy, what="web3_clientVersion")
    except ChainError:
        raise
    except Exception:  # some nodes do not implement web3_clientVersion
        return ""


def _anvil_uses_default_accounts(w3: Web3, policy: RetryPolicy) -> bool:
    accounts = with_retries(lambda: list(w3.eth.accounts), policy, what="eth_accounts")
    return bool(accounts) and accounts[0] == Account.from_key(_ANVIL_DEV_KEY).address
