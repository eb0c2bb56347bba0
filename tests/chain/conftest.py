"""Fixtures shared by the chain tests: a client per chain kind and a fresh TraceAnchor."""

from __future__ import annotations

import pytest

from chain import (
    AnchorContract,
    ChainClient,
    RetryPolicy,
    connect,
    deploy_or_attach,
)
from fixtures.anvil import ANVIL_DEV_KEYS, AnvilNode

# Retries in tests: the same shape as production, a fraction of the waiting.
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)

OTHER_KEY = ANVIL_DEV_KEYS[1]


@pytest.fixture(params=[pytest.param("anvil", marks=pytest.mark.anvil), "embedded"])
def client(request: pytest.FixtureRequest) -> ChainClient:
    """A signing client on anvil (shared node, reverted after the test) or the embedded chain."""
    if request.param == "anvil":
        node: AnvilNode = request.getfixturevalue("anvil_snapshot")
        return connect(node.url, private_key=node.private_keys[0], retry=FAST_RETRY)
    return connect("embedded", retry=FAST_RETRY)


@pytest.fixture
def trace_anchor(client: ChainClient) -> AnchorContract:
    """A freshly deployed TraceAnchor; the client's account is owner and anchorer."""
    return deploy_or_attach(client, None)


@pytest.fixture
def outsider(client: ChainClient) -> ChainClient:
    """A second funded account on the same chain, with no rights on the contract."""
    return client.for_key(OTHER_KEY)
