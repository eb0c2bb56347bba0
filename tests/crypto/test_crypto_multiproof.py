"""Merkle multiproofs: a recursive RFC 9162 transcription as the oracle, then tampering."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import OutOfRange
from crypto.merkle import (
    MerkleTree,
    MultiproofVerifier,
    UnorderedIndices,
    empty_root,
    multiproof_root,
    verify_multiproof,
)
from crypto.sm3 import sm3

MAX_SIZE = 200

# --- a direct transcription of RFC 9162 §2.1.1's MTH, recursive and slow ---
#
# The multiproof holds MTH of every maximal subtree without a selected leaf,
# in the order a recursion over the split points reaches them when it works
# through a subtree's selected sibling first. `_Expr` records what the
# verifier must compute: ("L", i) a selected leaf, ("P", t) the t-th proof
# element, ("N", left, right) an interior node.

_Expr = tuple[object, ...]


def _k(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _k(len(leaves))
    return sm3(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:]))


def _reference(leaves: list[bytes], selected: list[int]) -> tuple[list[bytes], _Expr]:
    """The multiproof of `selected` among leaf hashes `leaves`, and the computation it implies."""
    proof: list[bytes] = []
    chosen = set(selected)

    def holds(lo: int, hi: int) -> bool:
        return any(lo <= i < hi for i in chosen)

    def walk(lo: int, hi: int) -> _Expr:
        if not holds(lo, hi):
            proof.append(_mth(leaves[lo:hi]))
            return ("P", len(proof) - 1)
        if hi - lo == 1:
            return ("L", lo)
        mid = lo + _k(hi - lo)
        if holds(mid, hi) and not holds(lo, mid):
            right = walk(mid, hi)
            return ("N", walk(lo, mid), right)
        left = walk(lo, mid)
        return ("N", left, walk(mid, hi))

    return proof, walk(0, len(leaves))


@pytest.fixture(scope="module")
def tree() -> MerkleTree:
    tree = MerkleTree()
    tree.extend(i.to_bytes(4, "big") for i in range(MAX_SIZE + 1))
    return tree


def _leaves(tree: MerkleTree, indices: list[int]) -> list[tuple[int, bytes]]:
    return [(i, tree.leaf_hash_at(i)) for i in indices]


@st.composite
def selections(draw: st.DrawFn) -> tuple[int, list[int]]:
    size = draw(st.integers(1, MAX_SIZE), label="size")
    indices = draw(st.sets(st.integers(0, size - 1), min_size=1), label="indices")
    return size, sorted(indices)


# --- the proof itself ---


@settings(max_examples=400, deadline=None)
@given(selection=selections())
def test_multiproof_matches_the_recursive_definition_and_verifies(
    tree: MerkleTree, selection: tuple[int, list[int]]
) -> None:
    size, indices = selection
    hashes = [tree.leaf_hash_at(i) for i in range(size)]
    expected, _ = _reference(hashes, indices)

    proof = tree.multiproof(indices, size)

    assert proof == expected
    assert verify_multiproof(_leaves(tree, indices), size, proof, tree.root(size))
    assert multiproof_root(_leaves(tree, indices), size, proof) == tree.root(size)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_one_leaf_gives_exactly_its_inclusion_proof(tree: MerkleTree, data: st.DataObject) -> None:
    size = data.draw(st.integers(1, MAX_SIZE), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")

    assert tree.multiproof([index], size) == tree.inclusion_proof(index, size)


def test_a_whole_tree_or_a_whole_aligned_subtree_needs_few_hashes(tree: MerkleTree) -> None:
    for size in range(1, MAX_SIZE + 1):
        assert tree.multiproof(range(size), size) == []
    # leaves 64..127 of 200: one complete subtree, proved by its two neighbours
    assert tree.multiproof(range(64, 128), 200) == [
        tree._subtree_root(0, 64),
        tree._subtree_root(128, 200),
    ]


def test_no_selected_leaf_is_proved_by_the_root_alone(tree: MerkleTree) -> None:
    assert tree.multiproof([], 17) == [tree.root(17)]
    assert verify_multiproof([], 17, [tree.root(17)], tree.root(17))
    assert not verify_multiproof([], 17, [], tree.root(17))
    assert MerkleTree().multiproof([]) == []
    assert verify_multiproof([], 0, [], empty_root())
    assert not verify_multiproof([], 0, [empty_root()], empty_root())


def test_sha256_trees_work_the_same_way() -> None:
    tree = MerkleTree("sha256")
    tree.extend(bytes([i]) for i in range(13))
    leaves = [(i, tree.leaf_hash_at(i)) for i in (2, 3, 11)]
    proof = tree.multiproof([2, 3, 11])
    assert verify_multiproof(leaves, 13, proof, tree.root(), "sha256")
    assert not verify_multiproof(leaves, 13, proof, tree.root(), "sm3")


def test_the_generator_reads_indices_lazily(tree: MerkleTree) -> None:
    seen: list[int] = []

    def indices() -> Iterator[int]:
        for i in (1, 5, 9, 150):
            seen.append(i)
            yield i

    elements = tree.iter_multiproof(indices(), 200)
    first = next(elements)
    assert len(seen) <= 2  # the first leaf, and the next one to know where to stop
    assert [first, *elements] == tree.multiproof([1, 5, 9, 150], 200)


def test_bad_indices_are_rejected_when_proving(tree: MerkleTree) -> None:
    with pytest.raises(UnorderedIndices):
        tree.multiproof([3, 3], 10)
    with pytest.raises(UnorderedIndices):
        tree.multiproof([4, 2], 10)
    with pytest.raises(OutOfRange):
        tree.multiproof([2, 10], 10)
    with pytest.raises(OutOfRange):
        tree.multiproof([-1], 10)
    with pytest.raises(OutOfRange):
        tree.multiproof([0], MAX_SIZE + 2)


# --- tampering, property-based ---


_MUTATIONS = [
    "flip byte",
    "drop element",
    "add element",
    "wrong leaf",
    "drop leaf",
    "extra leaf",
    "swap leaves",
    "repeat leaf",
    "index past size",
    "wrong size",
]


@settings(max_examples=600, deadline=None)
@given(selection=selections(), data=st.data())
def test_any_altered_multiproof_or_leaf_set_fails(
    tree: MerkleTree, selection: tuple[int, list[int]], data: st.DataObject
) -> None:
    size, indices = selection
    root = tree.root(size)
    proof = tree.multiproof(indices, size)
    leaves = _leaves(tree, indices)
    mutation = data.draw(st.sampled_from(_MUTATIONS), label="mutation")
    if mutation == "flip byte":
        if not proof:
            return
        i = data.draw(st.integers(0, len(proof) - 1), label="element")
        j = data.draw(st.integers(0, 31), label="byte")
        mask = data.draw(st.integers(1, 255), label="mask")
        proof[i] = proof[i][:j] + bytes([proof[i][j] ^ mask]) + proof[i][j + 1 :]
    elif mutation == "drop element":
        if not proof:
            return
        del proof[data.draw(st.integers(0, len(proof) - 1), label="element")]
    elif mutation == "add element":
        at = data.draw(st.integers(0, len(proof)), label="at")
        proof.insert(at, data.draw(st.binary(min_size=32, max_size=32), label="extra"))
    elif mutation == "wrong leaf":
        at = data.draw(st.integers(0, len(leaves) - 1), label="leaf")
        other = data.draw(st.integers(0, MAX_SIZE).filter(lambda i: i != leaves[at][0]))
        leaves[at] = (leaves[at][0], tree.leaf_hash_at(other))
    elif mutation == "drop leaf":
        del leaves[data.draw(st.integers(0, len(leaves) - 1), label="leaf")]
    elif mutation == "extra leaf":
        unselected = sorted(set(range(size)) - set(indices))
        if not unselected:
            return
        extra = data.draw(st.sampled_from(unselected), label="extra")
        leaves = sorted([*leaves, (extra, tree.leaf_hash_at(extra))])
    elif mutation == "swap leaves":
        if len(leaves) < 2:
            return
        at = data.draw(st.integers(0, len(leaves) - 2), label="at")
        leaves[at], leaves[at + 1] = leaves[at + 1], leaves[at]
    elif mutation == "repeat leaf":
        at = data.draw(st.integers(0, len(leaves) - 1), label="at")
        leaves.insert(at, leaves[at])
    elif mutation == "index past size":
        leaves[-1] = (data.draw(st.integers(size, 2 * size), label="index"), leaves[-1][1])
    else:
        other = data.draw(st.integers(1, MAX_SIZE).filter(lambda n: n != size), label="size")
        # A root does not commit to its size: the proof still holds for another size exactly
        # when that size's tree asks for the same computation (see test_crypto_merkle).
        hashes = [tree.leaf_hash_at(i) for i in range(max(size, other))]
        same_computation = indices[-1] < other and (
            _reference(hashes[:other], indices)[1] == _reference(hashes[:size], indices)[1]
        )
        assert verify_multiproof(leaves, other, proof, root) == same_computation
        return
    assert not verify_multiproof(leaves, size, proof, root), mutation


def test_malformed_input_is_false_not_an_exception(tree: MerkleTree) -> None:
    root, proof = tree.root(10), tree.multiproof([1, 4], 10)
    good = _leaves(tree, [1, 4])
    assert verify_multiproof(good, 10, proof, root)
    assert not verify_multiproof(good, 10, [*proof[:-1], b"short"], root)
    assert not verify_multiproof(good, 10, proof, b"short root")
    assert not verify_multiproof(good, -1, proof, root)
    assert not verify_multiproof([(1, good[0][1], "extra")], 10, proof, root)  # type: ignore[list-item]
    assert not verify_multiproof([("1", good[0][1])], 10, proof, root)  # type: ignore[list-item]
    assert not verify_multiproof([(1, bytearray(32))], 10, proof, root)  # type: ignore[list-item]


def test_the_verifier_fails_for_good_and_reads_the_proof_once(tree: MerkleTree) -> None:
    proof = tree.multiproof([3, 7, 8], 40)
    verifier = MultiproofVerifier(40, iter(proof))
    assert verifier.add_leaf(3, tree.leaf_hash_at(3))
    assert verifier.add_leaf(7, tree.leaf_hash_at(7))
    assert not verifier.add_leaf(7, tree.leaf_hash_at(7))
    assert verifier.failed
    assert not verifier.add_leaf(8, tree.leaf_hash_at(8))
    assert verifier.root() is None
    assert not verifier.verify(tree.root(40))


def test_streams_many_leaves_through_a_generator() -> None:
    size = 100_000
    tree = MerkleTree.from_leaf_hashes(sm3(i.to_bytes(4, "big")) for i in range(size))
    selected = range(5, size - 3, 3)
    proof = tree.multiproof(selected)
    consumed = 0

    def leaves() -> Iterator[tuple[int, bytes]]:
        nonlocal consumed
        for i in selected:
            consumed += 1
            yield i, tree.leaf_hash_at(i)

    assert verify_multiproof(leaves(), size, proof, tree.root())
    assert consumed == len(selected)
