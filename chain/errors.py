"""Typed errors raised by the ``chain`` package; all subclass :class:`ChainError`."""

from __future__ import annotations


class ChainError(Exception):
    """Base class of every error the ``chain`` package raises on purpose."""


class ChainUnavailable(ChainError):
    """The node could not be reached, or kept timing out, after every retry."""


class ChainIdMismatch(ChainError):
    """The node serves a different chain than the one configured."""

    def __init__(self, *, expected: int, actual: int) -> None:
        super().__init__(f"expected chain id {expected}, but the node reports chain id {actual}")
        self.expected = expected
        self.actual = actual


class SigningKeyRequired(ChainError):
    """A transaction needs a private key and none was configured for this node."""


class ReadOnlyClient(ChainError):
    """The client was opened read-only and cannot send transactions."""


class ContractCodeMismatch(ChainError):
    """The code deployed at an address is not the expected contract."""

    def __init__(self, *, address: str, contract: str, reason: str) -> None:
        super().__init__(f"{address} does not hold {contract}: {reason}")
        self.address = address
        self.contract = contract
        self.reason = reason


class TransactionRejected(ChainError):
    """The node refused a transaction (bad nonce, fee too low, no funds, ...)."""


class TransactionReverted(ChainError):
    """A transaction or call reverted for a reason without a more specific error."""

    def __init__(self, message: str, *, tx_hash: str | None = None) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class ReceiptTimeout(ChainError):
    """A sent transaction was not mined within the allowed time."""

    def __init__(self, *, tx_hash: str, timeout: float) -> None:
        super().__init__(f"transaction {tx_hash} was not mined within {timeout:g} s")
        self.tx_hash = tx_hash
        self.timeout = timeout


class AlreadyAnchored(ChainError):
    """The contract already holds a root under this anchor id (anchors are write-once)."""

    def __init__(self, anchor_id: bytes) -> None:
        super().__init__(f"anchor id 0x{anchor_id.hex()} is already anchored")
        self.anchor_id = anchor_id


class NotAnchorer(ChainError):
    """The sending account is not an authorised anchorer of the contract."""

    def __init__(self, account: str) -> None:
        super().__init__(f"{account} is not an authorised anchorer")
        self.account = account


class NotOwner(ChainError):
    """The sending account is not the contract's owner."""

    def __init__(self, account: str) -> None:
        super().__init__(f"{account} is not the contract owner")
        self.account = account


class InvalidAnchorInput(ChainError, ValueError):
    """An argument cannot be anchored as given (wrong length, out of range, zero)."""
