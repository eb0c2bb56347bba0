"""Recognise reverts and decode Solidity custom errors, whichever provider raised them."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_typing import ABI
from eth_utils.abi import (
    abi_to_signature,
    filter_abi_by_type,
    function_signature_to_4byte_selector,
    get_abi_input_types,
)
from web3.exceptions import ContractLogicError

_REVERTED = "execution reverted: "


@dataclass(frozen=True)
class CustomError:
    """A decoded Solidity custom error, e.g. ``AlreadyAnchored(anchorId)``."""

    name: str
    args: tuple[Any, ...]


def _tester_failure() -> type[Exception] | None:
    try:
        from eth_tester.exceptions import TransactionFailed
    except ImportError:  # pragma: no cover - eth-tester is a dependency, but keep chain usable
        return None
    return TransactionFailed  # type: ignore[no-any-return]


def is_revert(exc: BaseException) -> bool:
    """Whether ``exc`` reports EVM execution that reverted (a JSON-RPC node or eth-tester)."""
    if isinstance(exc, ContractLogicError):
        return True
    failure = _tester_failure()
    return failure is not None and isinstance(exc, failure)


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert payload carried by ``exc``, if the provider passed it on."""
    if isinstance(exc, ContractLogicError):
        data = exc.data
        if isinstance(data, str) and data.startswith("0x"):
            try:
                return bytes.fromhex(data[2:])
            except ValueError:
                return None
        return None
    failure = _tester_failure()
    if failure is None or not isinstance(exc, failure) or not exc.args:
        return None
    # web3's EthereumTesterProvider re-raises as TransactionFailed("execution reverted: b'...'"),
    # i.e. the payload survives only as the repr of a bytes literal.
    message = str(exc.args[0])
    if not message.startswith(_REVERTED):
        return None
    literal = message[len(_REVERTED) :]
    if not literal.startswith(("b'", 'b"')):
        return None
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, bytes) else None


def decode_custom_error(abi: ABI, data: bytes | None) -> CustomError | None:
    """Match ``data`` against the custom errors declared in ``abi`` and decode the arguments."""
    if data is None or len(data) < 4:
        return None
    for element in filter_abi_by_type("error", abi):
        if function_signature_to_4byte_selector(abi_to_signature(element)) != data[:4]:
            continue
        types = get_abi_input_types(element)
        try:
            args = abi_decode(types, data[4:])
        except Exception:
            return None
        return CustomError(name=str(element["name"]), args=tuple(args))
    return None
