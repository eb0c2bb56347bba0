"""Audit bundles that verify: whole, filtered, empty; their layout; what the writer refuses."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import replace
from typing import Any

import pytest
from compliance_logs import (
    SyntheticLog,
    Witnesses,
    assert_fails_naming,
    make_log,
    members,
    verify_bytes,
)

from compliance.bundle import CheckpointRecord, write_bundle
from compliance.errors import InvalidBundleInput
from compliance.verify import TrustRoot, verify_bundle
from crypto import sm2
from crypto.merkle import verify_consistency
from crypto.sm3 import sm3

FILES = {
    "manifest.json",
    "manifest.sig",
    "signing_key.json",
    "checkpoints.jsonl",
    "witnesses.json",
    "entries.jsonl",
    "entry_index.csv",
    "multiproof.txt",
    "summary.html",
    "README.txt",
}


def test_a_whole_log_bundle_verifies(good_bundle: bytes, witnessed_log: SyntheticLog) -> None:
    verdict = verify_bytes(good_bundle)

    assert verdict.ok, verdict.describe()
    assert verdict.first_failure is None
    assert (verdict.tenant_id, verdict.log_id) == ("acme", witnessed_log.log_id)
    assert verdict.entries == 237
    assert (verdict.checkpoints, verdict.latest_size) == (3, 237)
    assert verdict.latest_root == witnessed_log.tree.root()
    assert (verdict.witnesses, verdict.cosignatures_checked) == (2, 2)
    assert verdict.anchors_checked == 0
    assert verdict.signing_key == witnessed_log.key.public_key.to_bytes()
    assert not verdict.key_pinned
    # consistent, but nothing ties the key to the service: untrusted, never verified
    assert verdict.trust_roots == () and not verdict.verified
    assert verdict.outcome == "untrusted"
    text = verdict.describe()
    assert text.startswith("UNTRUSTED")
    assert "trust root:   NONE" in text
    assert "not checked on chain" in text  # the anchored checkpoint, without an RPC URL
    assert "only the one the bundle names" in text


def test_a_pinned_key_is_checked(good_bundle: bytes, witnessed_log: SyntheticLog) -> None:
    pinned = verify_bytes(good_bundle, expected_public_key=witnessed_log.key.public_key.to_bytes())
    assert pinned.ok and pinned.key_pinned, pinned.describe()
    assert pinned.verified and pinned.trust_roots == (TrustRoot.PINNED_KEY,)
    assert pinned.describe().startswith("VERIFIED")
    assert "pinned by the caller" in pinned.describe()

    other = sm2.PrivateKey.generate().public_key.to_bytes()
    assert_fails_naming(verify_bytes(good_bundle, expected_public_key=other), "signing_key.json")


def test_a_sparse_filtered_selection_verifies(witnessed_log: SyntheticLog) -> None:
    selection = [0, 1, 2, *range(5, 237, 17), 236]
    filters = {"kinds": ["alert.raised"], "since": "2026-03-01T00:00:00+00:00", "item": None}
    bundle = witnessed_log.bundle(selection, filters=filters)

    verdict = verify_bytes(bundle)

    assert verdict.ok, verdict.describe()
    assert verdict.entries == len(selection)
    files = members(bundle)
    manifest = json.loads(files["manifest.json"])
    assert manifest["filters"] == filters
    assert manifest["entries"] == len(selection)
    proof = [bytes.fromhex(line) for line in files["multiproof.txt"].decode().split()]
    assert proof == witnessed_log.tree.multiproof(selection, 237)
    assert manifest["multiproof"] == {"order": "rfc9162-post-order-v1", "hashes": len(proof)}


@pytest.mark.parametrize("selection", [[], [42], list(range(60))], ids=["none", "one", "first"])
def test_small_selections_verify(witnessed_log: SyntheticLog, selection: list[int]) -> None:
    verdict = verify_bytes(witnessed_log.bundle(selection))
    assert verdict.ok, verdict.describe()
    assert verdict.entries == len(selection)


def test_layout_and_formats(good_bundle: bytes, witnessed_log: SyntheticLog) -> None:
    files = members(good_bundle)
    assert set(files) == FILES

    manifest = json.loads(files["manifest.json"])
    assert manifest["type"] == "tracechain/audit-bundle" and manifest["v"] == 1
    assert manifest["checkpoint"] == {"size": 237, "root": witnessed_log.tree.root().hex()}
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == FILES - {"manifest.json", "manifest.sig"}
    for name, item in listed.items():
        assert item == {"name": name, "size": len(files[name]), "sm3": sm3(files[name]).hex()}
    witnessed_log.key.public_key.verify(files["manifest.sig"], files["manifest.json"])

    assert files["entries.jsonl"] == b"".join(body + b"\n" for body in witnessed_log.bodies)
    index = files["entry_index.csv"].decode().splitlines()
    assert index[0] == "seq,leaf_hash"
    assert index[5] == f"4,{witnessed_log.tree.leaf_hash_at(4).hex()}"
    assert files["multiproof.txt"] == b""  # the whole log: nothing to add

    key = json.loads(files["signing_key.json"])
    assert key["public_key"] == witnessed_log.key.public_key.hex()
    assert key["fingerprint"] == sm3(witnessed_log.key.public_key.to_bytes()).hex()
    witnesses = json.loads(files["witnesses.json"])["witnesses"]
    assert [w["id"] for w in witnesses] == ["w-alpha", "w-beta"]


def test_checkpoint_lines_carry_proofs_anchors_and_cosignatures(
    good_bundle: bytes, witnessed_log: SyntheticLog
) -> None:
    lines = [json.loads(line) for line in members(good_bundle)["checkpoints.jsonl"].splitlines()]
    assert [json.loads(line["body"])["size"] for line in lines] == [60, 150, 237]
    assert lines[0]["consistency"] is None
    tree = witnessed_log.tree
    for old, new, line in ((60, 150, lines[1]), (150, 237, lines[2])):
        assert line["consistency"]["from_size"] == old
        path = [bytes.fromhex(h) for h in line["consistency"]["path"]]
        assert verify_consistency(old, new, tree.root(old), tree.root(new), path)
    assert lines[1]["anchor"] == witnessed_log.fake_anchor(1)
    assert [line["anchor"] is None for line in lines] == [True, False, True]
    assert [line["cosignatures"] is not None for line in lines] == [False, True, True]
    assert lines[2]["cosignatures"]["witnesses"] == ["w-alpha", "w-beta"]
    record = witnessed_log.checkpoints[0]
    assert lines[0]["body"].encode() == record.checkpoint.body()
    assert bytes.fromhex(lines[0]["signature"]) == record.signature


def test_summary_and_readme_are_for_people(good_bundle: bytes) -> None:
    files = members(good_bundle)
    page = files["summary.html"].decode()
    assert "<script" not in page.lower()
    assert not re.search(r"\s(src|href)=", page)  # no external assets
    assert "<svg" in page and "<rect" in page
    # kinds cycle code, event, event, invoice, alert: 237 entries hold 95 events, 47 alerts
    assert '<td><code>event.captured</code></td><td class="num">95</td>' in page
    assert '<td><code>alert.raised</code></td><td class="num">47</td>' in page
    assert '<td class="num">4</td><td>2026-03-02T12:00:00.000000Z</td>' in page  # first alert
    assert "not anchored" in page and "chain 31337" in page
    readme = files["README.txt"].decode()
    assert "trace verify-bundle FILE --key-fingerprint FP" in readme
    assert "UNTRUSTED (exit code 3)" in readme
    assert "0.4 s" in readme and "consistency proofs" in readme


def test_html_in_data_is_escaped(service_key: sm2.PrivateKey) -> None:
    log = make_log("acme", key=service_key, sizes=(5,))
    entries = [replace(e, kind="<script>alert(1)</script>") for e in log.entries()]
    page = members(log.bundle(entries=entries))["summary.html"].decode()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


class _Pipe(io.RawIOBase):
    """A write-only, non-seekable stream, like an HTTP response body."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.data += b
        return len(b)


def test_writes_to_a_non_seekable_stream(witnessed_log: SyntheticLog) -> None:
    pipe = _Pipe()
    write_bundle(
        pipe,  # type: ignore[arg-type]
        tenant_id="acme",
        log_id=witnessed_log.log_id,
        signing_key=witnessed_log.key,
        entries=witnessed_log.entries(range(0, 237, 2)),
        tree=witnessed_log.tree,
        checkpoints=witnessed_log.checkpoints,
        witnesses=witnessed_log.witnesses,
        filters={},
        created_at=witnessed_log.times[0],
    )
    verdict = verify_bytes(bytes(pipe.data))
    assert verdict.ok, verdict.describe()


def test_progress_is_reported(good_bundle: bytes) -> None:
    calls: list[tuple[int, int]] = []
    verify_bundle(io.BytesIO(good_bundle), progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (237, 237)


def test_trusted_witnesses(good_bundle: bytes, witnesses: Witnesses) -> None:
    alpha = witnesses.registered[0].public_key
    assert verify_bytes(good_bundle, trusted_witnesses=[alpha]).ok
    verdict = verify_bytes(good_bundle, trusted_witnesses=[b"\x01" * 48])
    assert_fails_naming(verdict, "checkpoint size 237")
    assert "trusted" in verdict.describe()


def test_cosignatures_are_kept_only_for_the_latest_and_anchored(
    witnessed_log: SyntheticLog, witnesses: Witnesses
) -> None:
    log = replace(witnessed_log, checkpoints=list(witnessed_log.checkpoints))
    alpha = witnesses.keys["w-alpha"]
    log.cosign(0, [("w-alpha", alpha)])  # neither latest nor anchored
    lines = members(log.bundle())["checkpoints.jsonl"].splitlines()
    assert json.loads(lines[0])["cosignatures"] is None


def test_an_entry_changed_in_the_database_is_named_first(witnessed_log: SyntheticLog) -> None:
    entries = witnessed_log.entries()
    entries[12] = replace(entries[12], body=b'{"v":1,"forged":true}')
    verdict = verify_bytes(witnessed_log.bundle(entries=entries))
    assert_fails_naming(verdict, "entry seq 12")
    assert verdict.first_failure is not None
    assert verdict.first_failure.where == "entry seq 12"
    assert len(verdict.failures) == 1  # the log itself, its index and proofs are intact


def _write(log: SyntheticLog, **overrides: Any) -> None:
    options: dict[str, Any] = {
        "tenant_id": log.tenant_id,
        "log_id": log.log_id,
        "signing_key": log.key,
        "entries": log.entries(),
        "tree": log.tree,
        "checkpoints": log.checkpoints,
        "witnesses": log.witnesses,
        "filters": {},
        "created_at": log.times[0],
    }
    options.update(overrides)
    write_bundle(io.BytesIO(), **options)


def test_the_writer_refuses_inconsistent_input(witnessed_log: SyntheticLog) -> None:
    log = witnessed_log
    entries = log.entries()
    cps = log.checkpoints
    refusals: dict[str, dict[str, Any]] = {
        "entries out of order": {"entries": [entries[3], entries[2]]},
        "entry past the checkpoint": {"entries": [entries[60]], "checkpoints": cps[:1]},
        "leaf hash not the tree's": {"entries": [replace(entries[5], leaf_hash=bytes(32))]},
        "newline in a body": {"entries": [replace(entries[5], body=b"{\n}")]},
        "no checkpoint": {"checkpoints": []},
        "checkpoints out of order": {"checkpoints": [cps[1], cps[0]]},
        "another tenant": {"tenant_id": "globex"},
        "unknown cosigner": {
            "checkpoints": [*cps[:2], replace(cps[2], cosigners=["w-nobody"])],
        },
        "wrong anchor id": {
            "checkpoints": [
                cps[0],
                replace(cps[1], anchor={**log.fake_anchor(1), "anchor_id": "0x" + "11" * 32}),
                cps[2],
            ],
        },
        "filters that are not JSON": {"filters": {"since": object()}},
    }
    for name, overrides in refusals.items():
        with pytest.raises(InvalidBundleInput):
            _write(log, **overrides)
            pytest.fail(name)


def test_the_writer_refuses_a_checkpoint_the_tree_does_not_match(
    witnessed_log: SyntheticLog,
) -> None:
    forged = CheckpointRecord(
        replace(witnessed_log.checkpoints[0].checkpoint, root=sm3(b"elsewhere")), b"sig"
    )
    with pytest.raises(InvalidBundleInput, match="tree"):
        _write(witnessed_log, checkpoints=[forged, *witnessed_log.checkpoints[1:]])


def test_members_are_compressed_and_dated_reproducibly(good_bundle: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(good_bundle)) as archive:
        infos = archive.infolist()
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
    assert {i.date_time for i in infos} == {(2026, 11, 25, 9, 30, 0)}
    entries = next(i for i in infos if i.filename == "entries.jsonl")
    assert entries.compress_size < entries.file_size / 2


def test_a_bundle_may_start_at_a_later_checkpoint(witnessed_log: SyntheticLog) -> None:
    # The first checkpoint listed is then proved consistent with its signed predecessor.
    log = replace(witnessed_log, checkpoints=witnessed_log.checkpoints[1:])
    bundle = log.bundle(range(100, 237))
    first = json.loads(members(bundle)["checkpoints.jsonl"].splitlines()[0])
    assert first["consistency"]["from_size"] == 60

    verdict = verify_bytes(bundle)

    assert verdict.ok, verdict.describe()
    assert verdict.checkpoints == 2
