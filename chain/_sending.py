"""Sign locally and send: nonce allocation, fee choice, retries and the recovery rules."""

from __future__ import annotations

import logging
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import TransactionNotFound

from chain._fees import FeeStrategy, is_type2_rejection
from chain._nonces import NonceAllocator
from chain._retry import RetryPolicy, is_transient
from chain.errors import ChainUnavailable, TransactionRejected

_log = logging.getLogger(__name__)

# The node already holds exactly this signed transaction: sending it again is a success.
_KNOWN = ("already known", "known transaction", "already imported", "already in pool")
# The nonce was taken by another transaction: re-read and re-sign once.
_NONCE_CONFLICT = (
    "nonce too low",
    "replacement transaction underpriced",
    "nonce has already been used",
    "invalid nonce",
    "oldnonce",
)


class TransactionSender:
    """Signs transactions for one account with eth-account and sends them raw."""

    def __init__(self, w3: Web3, account: LocalAccount, chain_id: int, retry: RetryPolicy) -> None:
        self._w3 = w3
        self._account = account
        self._chain_id = chain_id
        self._retry = retry
        self.fees = FeeStrategy(w3)
        self.nonces = NonceAllocator(self._pending_count)

    def _pending_count(self) -> int:
        return int(self._w3.eth.get_transaction_count(self._account.address, "pending"))

    def _known(self, tx_hashes: list[str]) -> str | None:
        """The first of ``tx_hashes`` the node knows (pending or mined), if any."""
        for tx_hash in tx_hashes:
            try:
                self._w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                continue
            return tx_hash
        return None

    def _backoff(self, failures: int, exc: BaseException) -> None:
        if failures >= max(1, self._retry.attempts):
            raise ChainUnavailable(
                f"sending a transaction failed after {failures} attempt(s): {exc}"
            ) from exc
        delay = self._retry.delay(failures - 1)
        _log.info("retrying send in %.2f s after: %s", delay, exc)
        self._retry.sleep(delay)

    def send(self, *, to: ChecksumAddress | None, data: bytes, value: int, gas: int) -> str:
        """Sign and send one transaction; return its hash as 0x-hex.

        Holds the nonce lock throughout. A transient failure may hide a transaction the node
        did receive, so before each retry the hashes already signed are looked up, and the
        nonce is re-read rather than reused. A type-2 refusal switches to legacy fees once;
        a nonce conflict (another sender used the nonce) re-reads and re-signs once.
        """
        signed_hashes: list[str] = []
        failures = 0
        reread_after_conflict = False
        with self.nonces.lock:
            while True:
                try:
                    earlier = self._known(signed_hashes)
                    if earlier is not None:
                        _log.info("transaction %s reached the node before the error", earlier)
                        return earlier
                    nonce = self.nonces.peek()
                    tx: dict[str, Any] = {
                        "chainId": self._chain_id,
                        "nonce": nonce,
                        "value": value,
                        "data": data,
                        "gas": gas,
                        **self.fees.fields(),
                    }
                except Exception as exc:
                    self.nonces.forget()
                    if not is_transient(exc):
                        raise
                    failures += 1
                    self._backoff(failures, exc)
                    continue
                if to is not None:
                    tx["to"] = to
                signed = self._account.sign_transaction(tx)
                tx_hash = "0x" + bytes(signed.hash).hex()
                signed_hashes.append(tx_hash)
                try:
                    self._w3.eth.send_raw_transaction(signed.raw_transaction)
                except Exception as exc:
                    self.nonces.forget()
                    message = str(exc).lower()
                    if is_transient(exc):
                        failures += 1
                        self._backoff(failures, exc)
                        continue
                    if any(fragment in message for fragment in _KNOWN):
                        return tx_hash
                    if self.fees.uses_eip1559 and is_type2_rejection(exc):
                        _log.info("node refuses EIP-1559 transactions; using legacy gasPrice")
                        self.fees.use_legacy()
                        signed_hashes.pop()  # refused outright, so it is not in the pool
                        continue
                    if not reread_after_conflict and any(f in message for f in _NONCE_CONFLICT):
                        reread_after_conflict = True
                        continue
                    raise TransactionRejected(f"the node refused the transaction: {exc}") from exc
                self.nonces.confirm(nonce)
                return tx_hash
