"""EVM access for tracechain: the embedded chain or a JSON-RPC node, and the TraceAnchor contract.

A library: it never imports ``trace_api`` and never touches a database.

    client = connect("embedded")                       # or "http://127.0.0.1:8545", key=...
    contract = deploy_or_attach(client, None)
    tx = contract.anchor(anchor_id_for("batch", tenant, batch_id), root, size, kind=1)
    contract.wait_for_receipt(tx)
"""

from chain._retry import RetryPolicy
from chain.anchor import (
    AnchorContract,
    AnchorItem,
    AnchorReceipt,
    OnChainAnchor,
    anchor_id_for,
    attach,
    deploy,
    deploy_or_attach,
)
from chain.client import EMBEDDED, EMBEDDED_LABEL, ChainClient, connect
from chain.errors import (
    AlreadyAnchored,
    ChainError,
    ChainIdMismatch,
    ChainUnavailable,
    ContractCodeMismatch,
    InvalidAnchorInput,
    NotAnchorer,
    NotOwner,
    ReadOnlyClient,
    ReceiptTimeout,
    SigningKeyRequired,
    TransactionRejected,
    TransactionReverted,
)
from chain.verify import AnchorCheck, AnchorStatus, verify_anchor_on_chain

__all__ = [
    "EMBEDDED",
    "EMBEDDED_LABEL",
    "AlreadyAnchored",
    "AnchorCheck",
    "AnchorContract",
    "AnchorItem",
    "AnchorReceipt",
    "AnchorStatus",
    "ChainClient",
    "ChainError",
    "ChainIdMismatch",
    "ChainUnavailable",
    "ContractCodeMismatch",
    "InvalidAnchorInput",
    "NotAnchorer",
    "NotOwner",
    "OnChainAnchor",
    "ReadOnlyClient",
    "ReceiptTimeout",
    "RetryPolicy",
    "SigningKeyRequired",
    "TransactionRejected",
    "TransactionReverted",
    "anchor_id_for",
    "attach",
    "connect",
    "deploy",
    "deploy_or_attach",
    "verify_anchor_on_chain",
]
