"""The re-verifier walks every log a chunk per step, ends each walk where the log's head
stood when it began (a busy log cannot hold the pass), and starts over; its compact
range reproduces RFC 9162 roots at every size."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from log_tampering import grow
from sqlalchemy import Engine

from crypto.merkle import MerkleTree
from crypto.sm3 import sm3
from fixtures.anchoring import chain_app
from fixtures.app import make_tenant
from trace_api.audit.log import log_size
from trace_api.audit.reverify import LogReverifier, _CompactRange
from trace_api.components import Components
from trace_api.db import transaction


@given(st.integers(min_value=0, max_value=300))
def test_the_compact_range_root_is_the_merkle_root(size: int) -> None:
    leaves = [sm3(b"leaf %d" % i) for i in range(size)]
    compact = _CompactRange()
    for leaf in leaves:
        compact.push(leaf)
    assert compact.root() == MerkleTree.from_leaf_hashes(leaves).root()


def test_a_pass_walks_every_log_in_chunks_and_starts_over(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    big, small = make_tenant(app, "acme"), make_tenant(app, "globex")
    grow(app, big.tenant_id, 40)
    integrity = Components.of(app).log_integrity
    reverifier = LogReverifier(
        sessions=Components.of(app).sessions,
        integrity=integrity,
        public_key=Components.of(app).signing_key.public_key,
        chunk=10,
    )
    with transaction(Components.of(app).sessions) as session:
        sizes = {
            t.tenant_id: log_size(session=session, tenant_id=t.tenant_id) for t in (big, small)
        }
    steps = 1
    while not reverifier.step():
        steps += 1
        if steps == 2:
            grow(app, big.tenant_id, 25)  # mid-walk: left for the next pass
    assert sum(sizes.values()) == 54
    assert steps == 6  # 10 entries a step, moving on to the next log within a step
    assert integrity.last_walk(big.tenant_id).entries == sizes[big.tenant_id]
    assert integrity.last_walk(small.tenant_id).entries == sizes[small.tenant_id]
    assert integrity.status.passes == 1 and integrity.status.last_pass_finished_at is not None
    reverifier.run_pass()
    assert integrity.last_walk(big.tenant_id).entries == sizes[big.tenant_id] + 25
    assert integrity.status.passes == 2
    assert not integrity.failing()
