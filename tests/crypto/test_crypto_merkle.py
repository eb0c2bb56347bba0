"""RFC 9162 Merkle trees: the RFC 6962 reference vectors, exhaustive small trees, and tampering."""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from crypto.errors import MalformedHash, OutOfRange, UnsupportedHash
from crypto.merkle import (
    MerkleTree,
    empty_root,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from crypto.sm3 import sm3

VECTORS = json.loads((Path(__file__).parent / "vectors" / "merkle_rfc6962.json").read_text())
LEAVES = [bytes.fromhex(leaf) for leaf in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(root) for root in VECTORS["roots"]]
MAX_SIZE = 100
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _proof(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


@pytest.fixture(scope="module")
def reference_tree() -> MerkleTree:
    tree = MerkleTree("sha256")
    tree.extend(LEAVES)
    return tree


@pytest.fixture(scope="module", params=["sm3", "sha256"])
def grown_tree(request: pytest.FixtureRequest) -> MerkleTree:
    """MAX_SIZE + 1 leaves, so that every size up to MAX_SIZE, and one more, has a root."""
    tree = MerkleTree(request.param)
    tree.extend(i.to_bytes(4, "big") for i in range(MAX_SIZE + 1))
    return tree


# --- a direct transcription of the RFC 9162 §2.1 definitions, recursive and slow ---


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _mth(d: list[bytes], h: Callable[[bytes], bytes] = _sha) -> bytes:
    if not d:
        return h(b"")
    if len(d) == 1:
        return h(b"\x00" + d[0])
    k = _k(len(d))
    return h(b"\x01" + _mth(d[:k], h) + _mth(d[k:], h))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*_path(m, d[:k]), _mth(d[k:])]
    return [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*_subproof(m, d[:k], b), _mth(d[k:])]
    return [*_subproof(m - k, d[k:], False), _mth(d[:k])]


# --- reference vectors ---


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert MerkleTree("sha256").root().hex() == VECTORS["empty_root"]
    assert empty_root("sha256").hex() == VECTORS["empty_root"]
    assert MerkleTree().root() == sm3(b"")


@pytest.mark.parametrize("size", range(1, 9))
def test_rfc6962_reference_roots(reference_tree: MerkleTree, size: int) -> None:
    assert reference_tree.root(size) == ROOTS[size - 1]
    fresh = MerkleTree("sha256")
    for leaf in LEAVES[:size]:
        fresh.append(leaf)
    assert fresh.root() == ROOTS[size - 1]


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion_proofs"], ids=lambda v: f"{v['index']}-of-{v['tree_size']}"
)
def test_rfc6962_reference_inclusion_proofs(reference_tree: MerkleTree, vector: Any) -> None:
    index, size, expected = vector["index"], vector["tree_size"], _proof(vector["proof"])
    assert reference_tree.inclusion_proof(index, size) == expected
    assert verify_inclusion(
        leaf_hash(LEAVES[index], "sha256"), index, size, expected, ROOTS[size - 1], "sha256"
    )


@pytest.mark.parametrize(
    "vector",
    VECTORS["consistency_proofs"],
    ids=lambda v: f"{v['old_size']}-to-{v['new_size']}",
)
def test_rfc6962_reference_consistency_proofs(reference_tree: MerkleTree, vector: Any) -> None:
    old, new, expected = vector["old_size"], vector["new_size"], _proof(vector["proof"])
    assert reference_tree.consistency_proof(old, new) == expected
    assert verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], expected, "sha256")


def _corrupted_inclusion_probes(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, int, int, list[bytes], bytes, bytes]]:
    """The probes of transparency-dev/merkle's corruptInclusionProof."""
    some = SOME_HASH
    probes = [
        ("index - 1", index - 1, size, proof, root, leaf),
        ("index + 1", index + 1, size, proof, root, leaf),
        ("index ^ 2", index ^ 2, size, proof, root, leaf),
        ("size * 2", index, size * 2, proof, root, leaf),
        ("size / 2", index, size // 2, proof, root, leaf),
        ("wrong leaf", index, size, proof, root, b"WrongLeaf".ljust(32, b"\x00")),
        ("empty root", index, size, proof, _sha(b""), leaf),
        ("random root", index, size, proof, some, leaf),
        ("trailing garbage", index, size, [*proof, b""], root, leaf),
        ("trailing root", index, size, [*proof, root], root, leaf),
        ("preceding garbage", index, size, [b"", *proof], root, leaf),
        ("preceding root", index, size, [root, *proof], root, leaf),
    ]
    for i in range(len(proof)):
        flipped = [*proof]
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((f"flipped bit in proof[{i}]", index, size, flipped, root, leaf))
    if proof:
        probes.append(("removed element", index, size, proof[:-1], root, leaf))
    if len(proof) > 1:
        probes.append(("inserted element", index, size, [proof[0], some, *proof[1:]], root, leaf))
    return probes


@pytest.mark.parametrize("vector", VECTORS["inclusion_proofs"][1:], ids=lambda v: str(v))
def test_rfc6962_inclusion_proofs_fail_when_corrupted(vector: Any) -> None:
    index, size, proof = vector["index"], vector["tree_size"], _proof(vector["proof"])
    leaf = leaf_hash(LEAVES[index], "sha256")
    for name, i, n, p, root, lh in _corrupted_inclusion_probes(
        index, size, proof, ROOTS[size - 1], leaf
    ):
        assert not verify_inclusion(lh, i, n, p, root, "sha256"), name


# --- exhaustive small trees ---


def test_every_root_matches_the_rfc_definition(grown_tree: MerkleTree) -> None:
    h = sm3 if grown_tree.hash_name == "sm3" else _sha
    data = [i.to_bytes(4, "big") for i in range(MAX_SIZE)]
    for size in range(MAX_SIZE + 1):
        assert grown_tree.root(size) == _mth(data[:size], h)


def test_proofs_match_the_rfc_definition() -> None:
    data = [i.to_bytes(4, "big") for i in range(64)]
    tree = MerkleTree("sha256")
    tree.extend(data)
    for size in range(1, 65):
        for index in range(size):
            assert tree.inclusion_proof(index, size) == _path(index, data[:size])
        for old in range(1, size):
            assert tree.consistency_proof(old, size) == _subproof(old, data[:size], True)


def test_every_leaf_proof_verifies_in_every_tree_size(grown_tree: MerkleTree) -> None:
    name = grown_tree.hash_name
    for size in range(1, MAX_SIZE + 1):
        root = grown_tree.root(size)
        for index in range(size):
            proof = grown_tree.inclusion_proof(index, size)
            assert verify_inclusion(grown_tree.leaf_hash_at(index), index, size, proof, root, name)


def test_every_consistency_proof_verifies(grown_tree: MerkleTree) -> None:
    name = grown_tree.hash_name
    roots = [grown_tree.root(size) for size in range(MAX_SIZE + 1)]
    for new in range(MAX_SIZE + 1):
        for old in range(new + 1):
            proof = grown_tree.consistency_proof(old, new)
            assert verify_consistency(old, new, roots[old], roots[new], proof, name), (old, new)


def test_bulk_inclusion_proofs_equal_single_ones(grown_tree: MerkleTree) -> None:
    for size in range(MAX_SIZE + 1):
        bulk = list(grown_tree.inclusion_proofs(size))
        assert bulk == [grown_tree.inclusion_proof(i, size) for i in range(size)]


def test_bulk_inclusion_proofs_on_a_larger_ragged_tree() -> None:
    tree = MerkleTree()
    tree.extend(i.to_bytes(4, "big") for i in range(5000))
    for size in (4096, 4097, 4999, 5000):
        for index, proof in enumerate(tree.inclusion_proofs(size)):
            if index % 97 == 0 or index >= size - 40:
                assert proof == tree.inclusion_proof(index, size)


def test_roots_and_inclusion_proofs_agree_with_pymerkle() -> None:
    # pymerkle is an independent RFC 9162 implementation (SHA-256 only); its
    # inclusion path starts with the leaf hash itself, then matches ours.
    theirs = InmemoryTree(algorithm="sha256")
    ours = MerkleTree("sha256")
    for i in range(70):
        theirs.append_entry(bytes([i]) * 5)
        ours.append(bytes([i]) * 5)
    for size in range(71):
        assert ours.root(size) == theirs.get_root(size)
    for size in range(1, 71):
        for index in range(size):
            path = theirs.prove_inclusion(index + 1, size).path  # pymerkle counts from 1
            assert [ours.leaf_hash_at(index), *ours.inclusion_proof(index, size)] == path


# --- tampering, property-based ---
#
# A root does not commit to its tree's size: the same proof can check out
# against root(n) told it is the root of n + 1 leaves. Size and root always
# come together from one signed checkpoint, so a "wrong size" here means the
# honest root of that other size. (The tree holds MAX_SIZE + 1 leaves so
# that size + 1 has a root.)


def _altered_proof(proof: list[bytes], data: st.DataObject, mutation: str) -> list[bytes] | None:
    """Apply a proof mutation; None when it does not apply to this (empty) proof."""
    proof = list(proof)
    if mutation == "flip byte":
        if not proof:
            return None
        i = data.draw(st.integers(0, len(proof) - 1), label="element")
        j = data.draw(st.integers(0, 31), label="byte")
        mask = data.draw(st.integers(1, 255), label="mask")
        proof[i] = proof[i][:j] + bytes([proof[i][j] ^ mask]) + proof[i][j + 1 :]
    elif mutation == "drop element":
        if not proof:
            return None
        del proof[data.draw(st.integers(0, len(proof) - 1), label="element")]
    elif mutation == "add element":
        at = data.draw(st.integers(0, len(proof)), label="at")
        proof.insert(at, data.draw(st.binary(min_size=32, max_size=32), label="extra"))
    return proof


_PROOF_MUTATIONS = ["flip byte", "drop element", "add element"]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_altered_inclusion_proof_fails(grown_tree: MerkleTree, data: st.DataObject) -> None:
    tree = grown_tree
    size = data.draw(st.integers(1, MAX_SIZE), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof, leaf = tree.inclusion_proof(index, size), tree.leaf_hash_at(index)
    mutation = data.draw(
        st.sampled_from([*_PROOF_MUTATIONS, "wrong index", "wrong size", "other leaf"]),
        label="mutation",
    )
    if mutation in _PROOF_MUTATIONS:
        altered = _altered_proof(proof, data, mutation)
        if altered is None:
            return
        proof = altered
    elif mutation == "wrong index":
        index = data.draw(st.integers(-1, size).filter(lambda i: i != index), label="new index")
    elif mutation == "wrong size":
        size = data.draw(st.integers(0, MAX_SIZE + 1).filter(lambda n: n != size), label="new size")
    else:
        other = data.draw(st.integers(0, MAX_SIZE).filter(lambda i: i != index), label="other")
        leaf = tree.leaf_hash_at(other)
    root = tree.root(size)
    assert not verify_inclusion(leaf, index, size, proof, root, tree.hash_name), mutation


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_altered_consistency_proof_fails(grown_tree: MerkleTree, data: st.DataObject) -> None:
    tree = grown_tree
    new = data.draw(st.integers(2, MAX_SIZE), label="new")
    old = data.draw(st.integers(1, new - 1), label="old")
    proof = tree.consistency_proof(old, new)
    mutation = data.draw(
        st.sampled_from([*_PROOF_MUTATIONS, "wrong old size", "wrong new size", "swapped roots"]),
        label="mutation",
    )
    old_root, new_root = tree.root(old), tree.root(new)
    if mutation in _PROOF_MUTATIONS:
        proof = _altered_proof(proof, data, mutation) or []
    elif mutation == "wrong old size":
        old = data.draw(st.integers(0, new).filter(lambda m: m != old), label="new old")
        old_root = tree.root(old)
    elif mutation == "wrong new size":
        new = data.draw(st.integers(old, MAX_SIZE + 1).filter(lambda n: n != new), label="new new")
        new_root = tree.root(new)
    else:
        old_root, new_root = new_root, old_root
    assert not verify_consistency(old, new, old_root, new_root, proof, tree.hash_name), mutation


def test_consistency_edge_cases() -> None:
    tree = MerkleTree("sha256")
    tree.extend(LEAVES)
    empty, r1, r2 = empty_root("sha256"), ROOTS[0], ROOTS[1]
    assert tree.consistency_proof(0, 8) == []
    assert tree.consistency_proof(8, 8) == []
    assert verify_consistency(0, 8, empty, ROOTS[7], [], "sha256")
    assert not verify_consistency(0, 8, r1, ROOTS[7], [], "sha256")  # not the empty root
    assert verify_consistency(3, 3, ROOTS[2], ROOTS[2], [], "sha256")
    assert not verify_consistency(3, 3, ROOTS[2], ROOTS[3], [], "sha256")
    assert not verify_consistency(1, 1, r1, r1, [empty], "sha256")  # equal sizes, non-empty proof
    assert not verify_consistency(1, 2, r1, r2, [], "sha256")  # empty proof
    assert not verify_consistency(2, 1, r2, r1, [], "sha256")  # time travel
    assert not verify_consistency(1, 2, r1, r2, [b"short"], "sha256")


def test_inclusion_edge_cases() -> None:
    leaf = leaf_hash(b"data", "sha256")
    assert verify_inclusion(leaf, 0, 1, [], leaf, "sha256")
    assert not verify_inclusion(leaf, 0, 0, [], leaf, "sha256")
    assert not verify_inclusion(leaf, 1, 1, [], leaf, "sha256")
    assert not verify_inclusion(leaf, -1, 1, [], leaf, "sha256")
    assert not verify_inclusion(b"", 0, 1, [], b"", "sha256")


# --- the tree's own API ---


def test_append_returns_each_index_and_extend_returns_the_range() -> None:
    tree = MerkleTree()
    assert [tree.append(bytes([i])) for i in range(5)] == [0, 1, 2, 3, 4]
    assert tree.extend([b"a", b"b", b"c"]) == range(5, 8)
    assert tree.extend([]) == range(8, 8)
    assert tree.size == 8


def test_leaf_hashes_use_prefix_zero_and_nodes_prefix_one() -> None:
    tree = MerkleTree()
    tree.extend([b"left", b"right"])
    left, right = sm3(b"\x00left"), sm3(b"\x00right")
    assert leaf_hash(b"left") == left
    assert tree.root(1) == left
    assert tree.root() == sm3(b"\x01" + left + right)


def test_from_leaf_hashes_builds_the_same_tree() -> None:
    data = [bytes([i]) * 3 for i in range(37)]
    tree = MerkleTree()
    tree.extend(data)
    rebuilt = MerkleTree.from_leaf_hashes(leaf_hash(d) for d in data)
    assert rebuilt.root() == tree.root()
    one_by_one = MerkleTree()
    for d in data:
        one_by_one.append_leaf_hash(leaf_hash(d))
    assert one_by_one.root() == tree.root()
    assert one_by_one.inclusion_proof(20) == tree.inclusion_proof(20)


def test_past_roots_do_not_change_as_the_tree_grows() -> None:
    tree = MerkleTree()
    roots = []
    for i in range(70):
        tree.append(bytes([i]))
        roots.append(tree.root())
    assert [tree.root(size) for size in range(1, 71)] == roots


def test_malformed_leaf_hashes_are_rejected() -> None:
    with pytest.raises(MalformedHash):
        MerkleTree().append_leaf_hash(bytes(31))
    with pytest.raises(MalformedHash):
        MerkleTree().extend_leaf_hashes([bytes(32), bytes(33)])


def test_out_of_range_requests_are_rejected() -> None:
    tree = MerkleTree()
    tree.extend([b"a", b"b", b"c"])
    for call in (
        lambda: tree.root(4),
        lambda: tree.root(-1),
        lambda: tree.inclusion_proof(3),
        lambda: tree.inclusion_proof(2, 2),
        lambda: tree.inclusion_proof(-1),
        lambda: tree.consistency_proof(3, 2),
        lambda: tree.consistency_proof(1, 4),
        lambda: tree.leaf_hash_at(3),
        lambda: tree.inclusion_proofs(4),
    ):
        with pytest.raises(OutOfRange):
            call()


def test_unsupported_hash_is_rejected() -> None:
    with pytest.raises(UnsupportedHash):
        MerkleTree("md5")  # type: ignore[arg-type]
    with pytest.raises(UnsupportedHash):
        leaf_hash(b"x", "sha1")  # type: ignore[arg-type]


def test_hundred_thousand_leaves_give_one_proof_each_and_they_verify() -> None:
    # How long this takes is measured in bench/crypto_bench.py, beside pymerkle.
    tree = MerkleTree()
    tree.extend(i.to_bytes(8, "big") for i in range(100_000))
    root = tree.root()
    proofs = 0
    for index, proof in enumerate(tree.inclusion_proofs()):
        proofs += 1
        if index % 9_973 == 0 or index == tree.size - 1:
            assert verify_inclusion(tree.leaf_hash_at(index), index, tree.size, proof, root)
    assert proofs == 100_000
