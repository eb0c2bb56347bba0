"""Fee fields for a transaction: EIP-1559 where the node supports it, legacy gasPrice otherwise."""

from __future__ import annotations

import threading
from typing import Any

from web3 import Web3
from web3.exceptions import MethodUnavailable, Web3RPCError

# Fragments of the messages nodes use to refuse type-2 transactions (anvil before london,
# geth/besu before london, some consortium chains). Matched case-insensitively.
_TYPE2_REJECTIONS = (
    "eip-1559",
    "eip1559",
    "transaction type not supported",
    "tx type not supported",
    "unsupported transaction type",
    "invalid transaction type",
    "maxfeepergas",
)

DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei, used when the node cannot suggest one


def is_type2_rejection(exc: BaseException) -> bool:
    """Whether the node refused a transaction because it does not accept EIP-1559 fees."""
    if not isinstance(exc, Web3RPCError | ValueError):
        return False
    text = str(exc).lower()
    return any(fragment in text for fragment in _TYPE2_REJECTIONS)


class FeeStrategy:
    """Chooses fee fields per transaction and remembers a node's refusal of type-2."""

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3
        self._eip1559 = True
        self._lock = threading.Lock()

    @property
    def uses_eip1559(self) -> bool:
        """False once the node has shown it has no base fee or refuses type-2 transactions."""
        return self._eip1559

    def use_legacy(self) -> None:
        """Switch to legacy ``gasPrice`` transactions for the rest of this client's life."""
        with self._lock:
            self._eip1559 = False

    def fields(self) -> dict[str, Any]:
        """Fee fields for a transaction sent now.

        EIP-1559: ``maxFeePerGas = 2 * baseFee + priority``, which stays valid through six
        consecutive full blocks of base-fee growth. Legacy: the node's ``eth_gasPrice``.
        """
        if self._eip1559:
            base_fee = self._base_fee()
            if base_fee is not None:
                priority = self._priority_fee()
                return {
                    "type": 2,
                    "maxPriorityFeePerGas": priority,
                    "maxFeePerGas": 2 * base_fee + priority,
                }
            self.use_legacy()
        return {"gasPrice": int(self._w3.eth.gas_price)}

    def _base_fee(self) -> int | None:
        block = self._w3.eth.get_block("latest")
        base_fee = block.get("baseFeePerGas")
        return None if base_fee is None else int(base_fee)

    def _priority_fee(self) -> int:
        try:
            return int(self._w3.eth.max_priority_fee)
        except (MethodUnavailable, Web3RPCError):
            return DEFAULT_PRIORITY_FEE
