"""ChainClient against real nodes: chain ids, nonces across restarts, fees, attach, node outages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from eth_account import Account
from hexbytes import HexBytes

from chain import (
    AlreadyAnchored,
    ChainClient,
    ChainError,
    ChainIdMismatch,
    ChainUnavailable,
    ContractCodeMismatch,
    ReadOnlyClient,
    RetryPolicy,
    SigningKeyRequired,
    anchor_id_for,
    attach,
    connect,
    deploy_or_attach,
)
from chain.anchor import runtime_code_matches
from contracts import load_artifact
from fixtures.anvil import ANVIL_DEV_KEYS, AnvilNode

pytestmark = pytest.mark.anvil

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
OTHER_KEY = ANVIL_DEV_KEYS[1]

NodeFactory = Callable[..., AnvilNode]


def _transfer(client: ChainClient) -> str:
    """Send a plain 1-wei transfer to ourselves; return the hash."""
    return client.send_transaction(to=client.account, value=1, gas=21_000)


class RecordingSleep:
    """Stands in for time.sleep: records the backoff and can act between attempts."""

    def __init__(self, between_attempts: Callable[[], None] | None = None) -> None:
        self.delays: list[float] = []
        self._between_attempts = between_attempts

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self._between_attempts is not None:
            self._between_attempts()
            self._between_attempts = None


# -- configuration -----------------------------------------------------------------------------


def test_chain_id_mismatch_is_a_clear_error(anvil: AnvilNode) -> None:
    with pytest.raises(ChainIdMismatch) as caught:
        connect(anvil.url, private_key=anvil.private_keys[0], expected_chain_id=1)

    assert (caught.value.expected, caught.value.actual) == (1, 31337)
    assert "1" in str(caught.value) and "31337" in str(caught.value)
    with pytest.raises(ChainIdMismatch):
        connect("embedded", expected_chain_id=31337)


def test_matching_chain_id_connects(anvil: AnvilNode) -> None:
    client = connect(anvil.url, private_key=anvil.private_keys[1], expected_chain_id=31337)

    assert client.chain_id == 31337
    assert not client.is_embedded
    assert client.account == Account.from_key(anvil.private_keys[1]).address
    assert client.network_label == f"anvil development chain 31337 at 127.0.0.1:{anvil.port}"


def test_embedded_chain_says_it_is_ephemeral() -> None:
    client = connect("embedded")

    assert client.is_embedded
    assert client.network_label == "embedded development chain (ephemeral)"
    assert client.healthy()[0]
    funded = connect("embedded", private_key=OTHER_KEY)
    assert funded.account == Account.from_key(OTHER_KEY).address
    assert funded.w3.eth.get_balance(funded.account) > 0


def test_without_key_anvil_signs_with_its_first_dev_key(anvil: AnvilNode) -> None:
    client = connect(anvil.url)

    assert client.account == Account.from_key(anvil.private_keys[0]).address


def test_without_key_other_nodes_refuse_to_send(anvil_factory: NodeFactory) -> None:
    # Another chain id makes anvil look like any node: no dev-key fallback.
    node = anvil_factory("--chain-id", "4242")

    with pytest.raises(SigningKeyRequired, match="no private key"):
        connect(node.url)
    reader = connect(node.url, read_only=True)
    assert reader.block_number() == 0
    with pytest.raises(ReadOnlyClient):
        _transfer(reader)
    with pytest.raises(ChainError, match="unsupported chain URL"):
        connect("ws://127.0.0.1:1")


# -- nonces ------------------------------------------------------------------------------------


def test_nonces_continue_across_a_restart_with_a_pending_transaction(
    anvil_factory: NodeFactory,
) -> None:
    node = anvil_factory()
    key = node.private_keys[0]
    first = connect(node.url, private_key=key)
    mined = [first.wait_for_receipt(_transfer(first)) for _ in range(2)]
    node.rpc("evm_setAutomine", False)
    pending = _transfer(first)  # in the pool, not mined

    # "Restart": a new client (new process, empty cache) on the same key.
    second = connect(node.url, private_key=key)
    assert second.next_nonce() == 3
    after_restart = _transfer(second)
    node.rpc("evm_mine")

    nonces = [
        first.w3.eth.get_transaction(h)["nonce"]  # type: ignore[arg-type]
        for h in (mined[0]["transactionHash"], mined[1]["transactionHash"], pending, after_restart)
    ]
    assert nonces == [0, 1, 2, 3]
    for tx_hash in (pending, after_restart):
        assert first.wait_for_receipt(tx_hash, timeout=5)["status"] == 1


def test_stale_nonce_is_reread_after_the_node_refuses_it(anvil_factory: NodeFactory) -> None:
    node = anvil_factory()
    key = node.private_keys[0]
    first = connect(node.url, private_key=key)
    first.wait_for_receipt(_transfer(first))
    assert first.next_nonce() == 1  # cached
    other = connect(node.url, private_key=key)
    other.wait_for_receipt(_transfer(other))  # takes nonce 1 behind first's back

    tx_hash = _transfer(first)  # first tries 1, is refused, re-reads, uses 2

    assert first.wait_for_receipt(tx_hash)["status"] == 1
    assert first.w3.eth.get_transaction(tx_hash)["nonce"] == 2  # type: ignore[arg-type]


# -- fees --------------------------------------------------------------------------------------


def test_eip1559_fees_on_anvil(anvil: AnvilNode) -> None:
    client = connect(anvil.url, private_key=anvil.private_keys[2])

    tx_hash = _transfer(client)
    receipt = client.wait_for_receipt(tx_hash)

    tx = client.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    assert tx["type"] == 2
    block = client.w3.eth.get_block(receipt["blockNumber"])
    assert tx["maxFeePerGas"] >= block["baseFeePerGas"] + tx["maxPriorityFeePerGas"]
    assert client.uses_eip1559


def test_legacy_gas_price_on_a_node_without_base_fee(anvil_factory: NodeFactory) -> None:
    node = anvil_factory("--hardfork", "berlin")
    client = connect(node.url, private_key=node.private_keys[0])

    trace_anchor = deploy_or_attach(client, None)  # paris bytecode runs on berlin too
    tx_hash = trace_anchor.anchor(anchor_id_for("batch", "t", "berlin"), b"\x01" * 32, 1, 1)

    assert trace_anchor.wait_for_receipt(tx_hash).succeeded
    tx = client.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    assert tx["type"] == 0 and tx["gasPrice"] > 0
    assert not client.uses_eip1559


def test_falls_back_to_legacy_when_the_node_refuses_type2(
    anvil_factory: NodeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = anvil_factory("--hardfork", "berlin")
    client = connect(node.url, private_key=node.private_keys[0])
    # Pretend the node advertised a base fee, so the first attempt is a type-2 transaction.
    fees = client._sender.fees  # type: ignore[union-attr]
    monkeypatch.setattr(fees, "_base_fee", lambda: 10**9)

    tx_hash = _transfer(client)

    assert client.wait_for_receipt(tx_hash)["status"] == 1
    assert client.w3.eth.get_transaction(tx_hash)["type"] == 0  # type: ignore[arg-type]
    assert not client.uses_eip1559


# -- deploy or attach --------------------------------------------------------------------------


def test_deploy_or_attach_attaches_to_an_existing_deployment(anvil_snapshot: AnvilNode) -> None:
    client = connect(anvil_snapshot.url, private_key=anvil_snapshot.private_keys[0])
    deployed = deploy_or_attach(client, None)
    nonce = client.next_nonce()

    attached = deploy_or_attach(connect(anvil_snapshot.url, read_only=True), deployed.address)

    assert attached.address == deployed.address
    assert client.next_nonce() == nonce  # attaching sent nothing
    assert attached.is_anchorer(client.account)


def test_deploy_or_attach_deploys_where_there_is_no_code(anvil_snapshot: AnvilNode) -> None:
    client = connect(anvil_snapshot.url, private_key=anvil_snapshot.private_keys[0])
    empty = Account.create().address

    contract = deploy_or_attach(client, empty)

    assert contract.address != empty
    assert contract.is_anchorer(client.account)


def test_attach_rejects_an_address_with_other_code(anvil_snapshot: AnvilNode) -> None:
    client = connect(anvil_snapshot.url, private_key=anvil_snapshot.private_keys[0])
    impostor = Account.create().address
    anvil_snapshot.rpc("anvil_setCode", impostor, "0x60006000fd")

    with pytest.raises(ContractCodeMismatch) as caught:
        deploy_or_attach(client, impostor)

    assert caught.value.address == impostor
    assert "differs" in str(caught.value)


def test_attach_ignores_only_the_metadata_tail(anvil_snapshot: AnvilNode) -> None:
    client = connect(anvil_snapshot.url, read_only=True)
    code = bytes(HexBytes(load_artifact().deployed_bytecode))
    # Same code, different metadata hash (as from a build with other comments).
    rebuilt = code[:-20] + bytes(20 - 2) + code[-2:]
    assert runtime_code_matches(rebuilt, code)
    address = Account.create().address
    anvil_snapshot.rpc("anvil_setCode", address, HexBytes(rebuilt).to_0x_hex())
    assert attach(client, address).address == address

    tampered = bytearray(code)
    tampered[10] ^= 0xFF
    assert not runtime_code_matches(bytes(tampered), code)


# -- outages and retries -----------------------------------------------------------------------


def test_healthy_is_false_for_a_stopped_node_without_raising(anvil_factory: NodeFactory) -> None:
    node = anvil_factory()
    client = connect(node.url, private_key=node.private_keys[0], retry=FAST_RETRY)
    assert client.healthy() == (True, f"{client.network_label}: chain 31337, block 0")

    node.stop()
    ok, reason = client.healthy()

    assert not ok
    assert "unreachable" in reason
    with pytest.raises(ChainUnavailable, match="3 attempt"):
        client.block_number()


def test_reads_retry_with_backoff_until_the_node_is_back(anvil_factory: NodeFactory) -> None:
    node = anvil_factory()
    sleep = RecordingSleep(between_attempts=node.start)
    policy = RetryPolicy(attempts=4, base_delay=0.5, max_delay=8.0, sleep=sleep)
    client = connect(node.url, private_key=node.private_keys[0], retry=policy)
    node.stop()
    sleep.delays.clear()

    assert client.block_number() == 0  # first attempt fails, node restarts, second succeeds

    assert sleep.delays == [0.5]


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=6, base_delay=0.25, max_delay=1.0)

    assert [policy.delay(n) for n in range(5)] == [0.25, 0.5, 1.0, 1.0, 1.0]


def test_send_survives_a_node_restart(anvil_factory: NodeFactory) -> None:
    node = anvil_factory()
    sleep = RecordingSleep()
    policy = RetryPolicy(attempts=4, base_delay=0.1, sleep=sleep)
    client = connect(node.url, private_key=node.private_keys[0], retry=policy)
    client.wait_for_receipt(_transfer(client))
    assert client.next_nonce() == 1
    node.stop()
    # The restarted node is a fresh chain: nonce 0 again. The client must re-read, not reuse 1.
    sleep._between_attempts = node.start

    tx_hash = _transfer(client)

    assert client.wait_for_receipt(tx_hash)["status"] == 1
    assert client.w3.eth.get_transaction(tx_hash)["nonce"] == 0  # type: ignore[arg-type]
    assert sleep.delays == [0.1]


def test_reverts_are_not_retried(anvil_snapshot: AnvilNode) -> None:
    sleep = RecordingSleep()
    policy = RetryPolicy(attempts=4, base_delay=0.1, sleep=sleep)
    client = connect(anvil_snapshot.url, private_key=anvil_snapshot.private_keys[0], retry=policy)
    contract = deploy_or_attach(client, None)
    anchor_id = anchor_id_for("batch", "t", "once")
    contract.wait_for_receipt(contract.anchor(anchor_id, b"\x01" * 32, 1, 1))

    with pytest.raises(AlreadyAnchored):
        contract._transact("anchor", [anchor_id, b"\x02" * 32, 1, 1, bytes(32)])

    assert sleep.delays == []


def test_a_send_whose_answer_was_lost_is_not_sent_twice(
    anvil_factory: NodeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = anvil_factory()
    sleep = RecordingSleep()
    client = connect(
        node.url, private_key=node.private_keys[0], retry=RetryPolicy(attempts=3, sleep=sleep)
    )
    real_send = client.w3.eth.send_raw_transaction
    sent: list[bytes] = []

    def send_then_drop_the_answer(raw: bytes) -> object:
        sent.append(bytes(raw))
        result = real_send(raw)
        if len(sent) == 1:
            raise requests.ConnectionError("connection reset after the request was sent")
        return result

    monkeypatch.setattr(client.w3.eth, "send_raw_transaction", send_then_drop_the_answer)

    tx_hash = _transfer(client)

    assert len(sent) == 1  # the retry found the transaction on the node instead of re-sending
    assert client.wait_for_receipt(tx_hash)["status"] == 1
    assert client.next_nonce() == 1
    assert sleep.delays == [0.25]
