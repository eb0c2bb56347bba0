"""Tampered bundles: every change is caught and the verdict names the file, checkpoint or entry.

Two kinds of attacker: one who edits the zip and leaves the manifest alone,
and one who also recomputes the manifest's digests (but cannot sign it).
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path

import pytest
import rfc8785
from compliance_logs import (
    SyntheticLog,
    Witnesses,
    assert_fails_naming,
    make_log,
    members,
    redigest,
    rezip,
    verify_bytes,
)

from compliance.bundle import CheckpointRecord
from compliance.checkpoint import Checkpoint, sign_checkpoint
from compliance.entry import entry_leaf_hash
from compliance.verify import verify_bundle
from compliance.witness import RegisteredWitness, WitnessKey, aggregate, cosign
from crypto import sm2
from crypto.merkle import MerkleTree

ALL_FILES = [
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
]


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _seq_at(entries: bytes, at: int) -> int:
    """The seq of the entry line holding byte `at` (its newline belongs to it)."""
    start = entries.rfind(b"\n", 0, at) + 1
    return int(json.loads(entries[start : entries.index(b"\n", at)])["seq"])


# --- one byte, every file --------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_FILES)
def test_one_changed_byte_in_any_file_is_named(filtered_bundle: bytes, name: str) -> None:
    original = members(filtered_bundle)[name]
    for at in sorted({0, 1, len(original) // 3, len(original) // 2, len(original) - 1}):
        verdict = verify_bytes(rezip(filtered_bundle, {name: _flip(original, at)}))
        assert_fails_naming(verdict, name)
        if name == "entries.jsonl":
            assert_fails_naming(verdict, f"entry seq {_seq_at(original, at)}")


def _data_offsets(bundle: bytes) -> dict[str, tuple[int, int]]:
    """Where each member's (compressed) data lies in the raw zip."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        infos = archive.infolist()
    spans = {}
    for info in infos:
        header = info.header_offset
        name_length = int.from_bytes(bundle[header + 26 : header + 28], "little")
        extra_length = int.from_bytes(bundle[header + 28 : header + 30], "little")
        start = header + 30 + name_length + extra_length
        spans[info.filename] = (start, info.compress_size)
    return spans


@pytest.mark.parametrize("name", ALL_FILES)
def test_a_flipped_byte_in_the_raw_zip_is_named(filtered_bundle: bytes, name: str) -> None:
    start, length = _data_offsets(filtered_bundle)[name]
    original = members(filtered_bundle)[name]
    changed = 0
    for at in (start, start + 1, start + length // 2, start + length - 1):
        damaged = _flip(filtered_bundle, at)
        if _reads_the_same(damaged, name, original):
            continue  # a bit DEFLATE ignores (BFINAL of the last block, padding): no change
        changed += 1
        assert_fails_naming(verify_bytes(damaged), name)
    assert changed >= 2


def _reads_the_same(bundle: bytes, name: str, original: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            return archive.read(name) == original
    except (zipfile.BadZipFile, zlib.error, EOFError):
        return False


def test_a_truncated_or_foreign_file_is_named(good_bundle: bytes, tmp_path: Path) -> None:
    for size in (0, 100, len(good_bundle) // 2, len(good_bundle) - 10):
        path = tmp_path / "bundle.zip"
        path.write_bytes(good_bundle[:size])
        verdict = verify_bundle(path)
        assert_fails_naming(verdict, "bundle.zip")
        assert verdict.first_failure is not None and verdict.first_failure.where == "bundle.zip"
    missing = verify_bundle(tmp_path / "nowhere.zip")
    assert_fails_naming(missing, "nowhere.zip")


def test_a_missing_file_is_named(filtered_bundle: bytes) -> None:
    for name in ALL_FILES:
        assert_fails_naming(verify_bytes(rezip(filtered_bundle, {name: None})), name)


def test_an_unlisted_or_duplicated_file_is_named(good_bundle: bytes) -> None:
    assert_fails_naming(verify_bytes(rezip(good_bundle, {"extra.txt": b"hello"})), "extra.txt")
    out = io.BytesIO(good_bundle)
    with pytest.warns(UserWarning), zipfile.ZipFile(out, "a") as archive:
        archive.writestr("entries.jsonl", b"")
    assert_fails_naming(verify_bytes(out.getvalue()), "entries.jsonl")


@pytest.mark.parametrize(
    "name", ["manifest.json", "signing_key.json", "checkpoints.jsonl", "witnesses.json"]
)
def test_garbage_json_is_named(good_bundle: bytes, name: str) -> None:
    for garbage in (b"", b"{", b"[1,2]", b"\xff\xfe", b'{"a":1,"a":2}\n', b"null\n"):
        plain = verify_bytes(rezip(good_bundle, {name: garbage}))
        assert_fails_naming(plain, name)
        if name != "manifest.json":
            hidden = verify_bytes(rezip(good_bundle, {name: garbage}, manifest=redigest))
            assert_fails_naming(hidden, name, "manifest.sig")


# --- entries removed, reordered, added -------------------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


@pytest.mark.parametrize("hide", [False, True], ids=["manifest-as-is", "digests-recomputed"])
def test_a_removed_entry_is_named(good_bundle: bytes, hide: bool) -> None:
    lines = _lines(members(good_bundle)["entries.jsonl"])
    del lines[100]
    changed = {"entries.jsonl": b"".join(lines)}
    verdict = verify_bytes(rezip(good_bundle, changed, manifest=redigest if hide else None))
    assert_fails_naming(verdict, "entries.jsonl", "entry seq 100")
    if hide:
        assert_fails_naming(verdict, "manifest.sig")


def test_a_removed_entry_with_a_consistent_index_and_proof_is_caught_by_the_signature(
    good_bundle: bytes, witnessed_log: SyntheticLog
) -> None:
    # The attacker drops entry 100 everywhere and rebuilds the multiproof (its leaf hash is
    # public), so everything adds up: only the signed manifest (count, digests) says no.
    files = members(good_bundle)
    entries, index = _lines(files["entries.jsonl"]), _lines(files["entry_index.csv"])
    del entries[100], index[101]
    kept = [s for s in range(237) if s != 100]
    proof = witnessed_log.tree.multiproof(kept, 237)
    changed = {
        "entries.jsonl": b"".join(entries),
        "entry_index.csv": b"".join(index),
        "multiproof.txt": b"".join(h.hex().encode() + b"\n" for h in proof),
    }
    verdict = verify_bytes(
        rezip(
            good_bundle,
            changed,
            manifest=lambda f: redigest(
                f, entries=236, multiproof={"order": "rfc9162-post-order-v1", "hashes": 1}
            ),
        )
    )
    assert_fails_naming(verdict, "manifest.sig")
    assert [f.where for f in verdict.failures] == ["manifest.json"]


@pytest.mark.parametrize("hide", [False, True], ids=["manifest-as-is", "digests-recomputed"])
def test_reordered_entries_are_named(good_bundle: bytes, hide: bool) -> None:
    lines = _lines(members(good_bundle)["entries.jsonl"])
    lines[40], lines[41] = lines[41], lines[40]
    changed = {"entries.jsonl": b"".join(lines)}
    verdict = verify_bytes(rezip(good_bundle, changed, manifest=redigest if hide else None))
    assert_fails_naming(verdict, "entry seq 40", "entry seq 41")
    assert_fails_naming(verdict, "manifest.sig" if hide else "entries.jsonl")


def test_reordered_entries_and_index_rows_are_named(good_bundle: bytes) -> None:
    files = members(good_bundle)
    entries, index = _lines(files["entries.jsonl"]), _lines(files["entry_index.csv"])
    entries[40], entries[41] = entries[41], entries[40]
    index[41], index[42] = index[42], index[41]
    changed = {"entries.jsonl": b"".join(entries), "entry_index.csv": b"".join(index)}
    verdict = verify_bytes(rezip(good_bundle, changed, manifest=redigest))
    assert_fails_naming(verdict, "entry_index.csv", "multiproof.txt", "manifest.sig")


@pytest.mark.parametrize("hide", [False, True], ids=["manifest-as-is", "digests-recomputed"])
def test_an_added_entry_is_named(
    good_bundle: bytes, witnessed_log: SyntheticLog, hide: bool
) -> None:
    files = members(good_bundle)
    entries, index = _lines(files["entries.jsonl"]), _lines(files["entry_index.csv"])
    forged = witnessed_log.bodies[7].replace(b'"n":7', b'"n":8')
    entries.insert(8, forged + b"\n")
    changed = {"entries.jsonl": b"".join(entries)}
    verdict = verify_bytes(rezip(good_bundle, changed, manifest=redigest if hide else None))
    assert_fails_naming(verdict, "entry seq 8")
    # ...and with a matching index row: the forged leaf is not in the log's tree
    index.insert(9, b"7,%s\n" % entry_leaf_hash(forged).hex().encode())
    del entries[8]
    entries.insert(7, forged + b"\n")
    changed = {"entries.jsonl": b"".join(entries), "entry_index.csv": b"".join(index)}
    verdict = verify_bytes(rezip(good_bundle, changed, manifest=redigest if hide else None))
    assert_fails_naming(verdict, "entry_index.csv", "multiproof.txt")


# --- checkpoints -----------------------------------------------------------------------------


def _swap_checkpoint(bundle: bytes, position: int, line: bytes) -> bytes:
    lines = _lines(members(bundle)["checkpoints.jsonl"])
    lines[position] = line
    return rezip(bundle, {"checkpoints.jsonl": b"".join(lines)}, manifest=redigest)


def test_another_tenants_checkpoint_under_another_key_is_named(good_bundle: bytes) -> None:
    globex = make_log("globex")  # its own service key
    theirs = _lines(members(globex.bundle())["checkpoints.jsonl"])
    verdict = verify_bytes(_swap_checkpoint(good_bundle, 1, theirs[1]))
    assert_fails_naming(verdict, "manifest.sig", "checkpoint size 150")
    reasons = " ".join(f.reason for f in verdict.failures if f.where == "checkpoint size 150")
    assert "signature does not verify" in reasons
    assert "tenant 'globex'" in reasons


def test_another_tenants_checkpoint_under_the_same_key_is_named_as_wrong_tenant(
    good_bundle: bytes, service_key: sm2.PrivateKey
) -> None:
    globex = make_log("globex", key=service_key)
    theirs = _lines(members(globex.bundle())["checkpoints.jsonl"])
    verdict = verify_bytes(_swap_checkpoint(good_bundle, 2, theirs[2]))
    failures = [f for f in verdict.failures if f.where == "checkpoint size 237"]
    assert_fails_naming(verdict, "checkpoint size 237")
    assert any("belongs to tenant 'globex'" in f.reason for f in failures)
    assert not any("signature" in f.reason for f in failures)  # signed by our key: valid


def test_a_rewritten_history_is_named(good_bundle: bytes, service_key: sm2.PrivateKey) -> None:
    # The same service signs a second history of acme's log (entry 10 differs).
    fork = SyntheticLog(tenant_id="acme", key=service_key)
    fork.append(237)
    fork.bodies[9] = fork.bodies[9].replace(b'"n":9', b'"n":99')
    fork.tree = MerkleTree.from_leaf_hashes(entry_leaf_hash(body) for body in fork.bodies)
    for size in (60, 150, 237):
        fork.checkpoint(size)
    forked = _lines(members(fork.bundle())["checkpoints.jsonl"])[1]  # size 150
    verdict = verify_bytes(_swap_checkpoint(good_bundle, 1, forked))
    reasons = " ".join(f.reason for f in verdict.failures if f.where == "checkpoint size 150")
    assert_fails_naming(verdict, "checkpoint size 150")
    assert "history was rewritten" in reasons


def test_checkpoints_out_of_order_or_missing_their_proof_are_named(good_bundle: bytes) -> None:
    lines = _lines(members(good_bundle)["checkpoints.jsonl"])
    swapped = rezip(
        good_bundle, {"checkpoints.jsonl": lines[1] + lines[0] + lines[2]}, manifest=redigest
    )
    assert_fails_naming(verify_bytes(swapped), "checkpoint size 60")
    record = json.loads(lines[2])
    record["consistency"] = None
    stripped = _swap_checkpoint(good_bundle, 2, rfc8785.dumps(record) + b"\n")
    assert_fails_naming(verify_bytes(stripped), "checkpoint size 237")


def test_a_manifest_naming_another_latest_checkpoint_is_named(good_bundle: bytes) -> None:
    lines = _lines(members(good_bundle)["checkpoints.jsonl"])
    dropped = rezip(good_bundle, {"checkpoints.jsonl": b"".join(lines[:2])}, manifest=redigest)
    # the entries after size 150 are not covered by what is left: the index names the first
    assert_fails_naming(verify_bytes(dropped), "manifest.json", "seq 150")


def test_a_wrong_anchor_id_is_named_offline(good_bundle: bytes) -> None:
    lines = _lines(members(good_bundle)["checkpoints.jsonl"])
    record = json.loads(lines[1])
    record["anchor"]["anchor_id"] = "0x" + "ab" * 32
    verdict = verify_bytes(_swap_checkpoint(good_bundle, 1, rfc8785.dumps(record) + b"\n"))
    assert_fails_naming(verdict, "checkpoint size 150")
    assert "derived from tenant and size" in verdict.describe()


# --- keys and witnesses ----------------------------------------------------------------------


def test_a_bundle_re_signed_by_an_attacker_needs_the_key_pinned(
    witnessed_log: SyntheticLog,
) -> None:
    attacker = sm2.PrivateKey.generate()
    log = SyntheticLog(tenant_id="acme", key=attacker)
    log.append(237)
    log.checkpoint()
    forged = log.bundle()
    unpinned = verify_bytes(forged)
    assert unpinned.ok  # self-consistent: only a pinned key or the chain can tell
    assert unpinned.outcome == "untrusted" and not unpinned.verified
    assert "only the one the bundle names" in unpinned.describe()
    pinned = verify_bytes(forged, expected_public_key=witnessed_log.key.public_key.to_bytes())
    assert_fails_naming(pinned, "signing_key.json", "manifest.sig", "checkpoint size 237")


def test_a_bad_aggregate_cosignature_is_named(
    witnessed_log: SyntheticLog, good_bundle: bytes, witnesses: Witnesses
) -> None:
    lines = _lines(members(good_bundle)["checkpoints.jsonl"])
    record = json.loads(lines[2])
    # a well-formed signature, over the wrong body: the pairing check must reject it
    record["cosignatures"]["aggregate"] = aggregate(
        [cosign(key, b"another body") for key in witnesses.keys.values()]
    ).hex()
    verdict = verify_bytes(_swap_checkpoint(good_bundle, 2, rfc8785.dumps(record) + b"\n"))
    assert_fails_naming(verdict, "checkpoint size 237")
    assert "aggregate cosignature" in verdict.describe()
    record["cosignatures"]["witnesses"] = ["w-alpha", "w-nobody"]
    verdict = verify_bytes(_swap_checkpoint(good_bundle, 2, rfc8785.dumps(record) + b"\n"))
    assert "unregistered" in verdict.describe()


def test_a_witness_without_a_valid_pop_is_named(
    witnessed_log: SyntheticLog, witnesses: Witnesses
) -> None:
    alpha, beta = witnesses.registered
    rogue = RegisteredWitness(id=beta.id, name=beta.name, public_key=beta.public_key, pop=alpha.pop)
    log = SyntheticLog(
        tenant_id="acme",
        key=witnessed_log.key,
        bodies=witnessed_log.bodies,
        kinds=witnessed_log.kinds,
        times=witnessed_log.times,
        tree=witnessed_log.tree,
        checkpoints=list(witnessed_log.checkpoints),
        witnesses=[alpha, rogue],
    )
    verdict = verify_bytes(log.bundle())
    assert_fails_naming(verdict, f"witness {beta.id}", "checkpoint size 237")
    assert "proof of possession" in verdict.describe()


def test_a_checkpoint_cosigned_by_a_new_witness_verifies(witnessed_log: SyntheticLog) -> None:
    # A witness set the bundle did not see before: one more PoP and aggregate to check.
    gamma = WitnessKey.generate()
    registered = RegisteredWitness(
        "w-gamma", "Gamma", gamma.public_key, gamma.proof_of_possession()
    )
    cp = witnessed_log.checkpoints[-1]
    log = SyntheticLog(
        tenant_id="acme",
        key=witnessed_log.key,
        bodies=witnessed_log.bodies,
        kinds=witnessed_log.kinds,
        times=witnessed_log.times,
        tree=witnessed_log.tree,
        checkpoints=[
            *witnessed_log.checkpoints[:2],
            CheckpointRecord(
                cp.checkpoint,
                cp.signature,
                cosigners=["w-gamma"],
                aggregate=cosign(gamma, cp.checkpoint.body()),
            ),
        ],
        witnesses=[*witnessed_log.witnesses, registered],
    )
    verdict = verify_bytes(log.bundle(), trusted_witnesses=[gamma.public_key])
    assert verdict.ok, verdict.describe()
    assert verdict.cosignatures_checked == 2


def test_a_checkpoint_signed_by_another_key_is_named(witnessed_log: SyntheticLog) -> None:
    other = sm2.PrivateKey.generate()
    cp = witnessed_log.checkpoints[0]
    resigned = CheckpointRecord(cp.checkpoint, sign_checkpoint(other, cp.checkpoint))
    log = SyntheticLog(
        tenant_id="acme",
        key=witnessed_log.key,
        bodies=witnessed_log.bodies,
        kinds=witnessed_log.kinds,
        times=witnessed_log.times,
        tree=witnessed_log.tree,
        checkpoints=[resigned, *witnessed_log.checkpoints[1:]],
        witnesses=witnessed_log.witnesses,
    )
    verdict = verify_bytes(log.bundle())
    assert_fails_naming(verdict, "checkpoint size 60")
    assert [f.where for f in verdict.failures] == ["checkpoint size 60"]


def test_a_checkpoint_body_is_exact(good_bundle: bytes) -> None:
    lines = _lines(members(good_bundle)["checkpoints.jsonl"])
    record = json.loads(lines[0])
    body = json.loads(record["body"])
    record["body"] = json.dumps(body)  # same values, not canonical: the signature bytes differ
    verdict = verify_bytes(_swap_checkpoint(good_bundle, 0, rfc8785.dumps(record) + b"\n"))
    assert_fails_naming(verdict, "checkpoints.jsonl line 1")
    assert Checkpoint.from_body(rfc8785.dumps(body)).size == 60
