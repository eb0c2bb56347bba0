"""RFC 9162 Merkle trees: roots, inclusion proofs and consistency proofs.

Leaves hash as ``H(0x00 || data)`` and interior nodes as ``H(0x01 || left ||
right)``; the root of n leaves is MTH as in RFC 9162 §2.1.1 (the left subtree
holds the largest power of two smaller than n). The hash is SM3 by default;
SHA-256 makes the same code reproduce the RFC 6962 / Certificate
Transparency reference vectors.

Storage: level k holds, in one bytearray, the hashes of every complete
subtree of 2**k leaves, in order (``size >> k`` of them). Appending updates
them in amortised O(1) hashes per leaf. The only nodes of a tree of size n
that are not stored are the ones on its ragged right edge; for a given n
those are computed once (O(log n) hashes) and cached, after which an
inclusion proof is pure look-ups. Any earlier size can be proved too: its
complete subtrees are the same ones.

Verification (`verify_inclusion`, `verify_consistency`) follows RFC 9162
§2.1.3.2 and §2.1.4.2 and needs nothing but the proof.

Multiproofs prove many leaves at once (`MerkleTree.multiproof`,
`verify_multiproof`, `MultiproofVerifier`): the proof is the list of hashes
of the maximal subtrees that hold no selected leaf, each given once, so
proving every leaf of a range costs nothing and proving k scattered leaves
costs far less than k inclusion proofs. Their order is fixed by MTH's
recursion (RFC 9162 §2.1.1) over the split points, left subtree before
right, where a subtree holding no selected leaf is emitted *after* its
sibling has been fully worked through (post-order). For one selected leaf
that is bottom-up, so the multiproof is exactly the RFC 9162 inclusion
proof. The same order is the order in which a verifier that reads the
leaves left to right, one at a time, needs the hashes, which is what lets
`MultiproofVerifier` stream any number of leaves in O(log n) memory.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal

from crypto.errors import CryptoError, MalformedHash, OutOfRange, UnsupportedHash
from crypto.sm3 import sm3

__all__ = [
    "HASH_SIZE",
    "HashName",
    "MerkleTree",
    "MultiproofVerifier",
    "UnorderedIndices",
    "empty_root",
    "leaf_hash",
    "multiproof_root",
    "verify_consistency",
    "verify_inclusion",
    "verify_multiproof",
]

HashName = Literal["sm3", "sha256"]
HASH_SIZE = 32  # both SM3 and SHA-256
_LEAF = b"\x00"
_NODE = b"\x01"


class UnorderedIndices(CryptoError, ValueError):
    """Leaf indices for a multiproof that are not strictly increasing."""


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _hash_function(name: str) -> Callable[[bytes], bytes]:
    if name == "sm3":
        return sm3
    if name == "sha256":
        return _sha256
    raise UnsupportedHash(f"unsupported Merkle hash {name!r}; use 'sm3' or 'sha256'")


def leaf_hash(data: bytes, hash: HashName = "sm3") -> bytes:
    """Return the RFC 9162 leaf hash ``H(0x00 || data)``."""
    return _hash_function(hash)(_LEAF + data)


def empty_root(hash: HashName = "sm3") -> bytes:
    """Return the root of the empty tree, ``H("")`` (RFC 9162 §2.1.1)."""
    return _hash_function(hash)(b"")


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 9162 Merkle tree that can prove any of its past sizes."""

    __slots__ = ("_edge_cache", "_h", "_hash_name", "_levels")

    def __init__(self, hash: HashName = "sm3") -> None:
        self._h = _hash_function(hash)
        self._hash_name: HashName = hash
        self._levels: list[bytearray] = [bytearray()]
        self._edge_cache: tuple[int, list[bytes]] = (0, [])

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes], hash: HashName = "sm3") -> MerkleTree:
        """Build a tree from precomputed leaf hashes (see `leaf_hash`)."""
        tree = cls(hash)
        tree.extend_leaf_hashes(leaf_hashes)
        return tree

    @property
    def hash_name(self) -> HashName:
        """The hash algorithm, "sm3" or "sha256"."""
        return self._hash_name

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0]) // HASH_SIZE

    def append(self, data: bytes) -> int:
        """Append one leaf holding `data`; returns its index."""
        return self.append_leaf_hash(self._h(_LEAF + data))

    def append_leaf_hash(self, leaf_hash: bytes) -> int:
        """Append one precomputed leaf hash; returns its index."""
        if len(leaf_hash) != HASH_SIZE:
            raise MalformedHash(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf_hash)}")
        index = self.size
        self._levels[0] += leaf_hash
        self._grow()
        return index

    def extend(self, items: Iterable[bytes]) -> range:
        """Append one leaf per item, in order; returns the range of their indexes."""
        h = self._h
        start = self.size
        self._levels[0] += b"".join([h(_LEAF + data) for data in items])
        self._grow()
        return range(start, self.size)

    def extend_leaf_hashes(self, leaf_hashes: Iterable[bytes]) -> range:
        """Append precomputed leaf hashes, in order; returns the range of their indexes."""
        hashes = list(leaf_hashes)
        if any(len(h) != HASH_SIZE for h in hashes):
            raise MalformedHash(f"every leaf hash must be {HASH_SIZE} bytes")
        start = self.size
        self._levels[0] += b"".join(hashes)
        self._grow()
        return range(start, self.size)

    def leaf_hash_at(self, index: int) -> bytes:
        """Return the leaf hash stored at `index`."""
        if not 0 <= index < self.size:
            raise OutOfRange(f"leaf index {index} is outside a tree of {self.size} leaves")
        return self._node(0, index)

    def root(self, size: int | None = None) -> bytes:
        """Return the root of the tree's first `size` leaves (default: all of them)."""
        n = self._check_size(size)
        if n == 0:
            return self._h(b"")
        return self._right_edge(n)[-1]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves."""
        n = self._check_size(size)
        if not 0 <= index < n:
            raise OutOfRange(f"leaf index {index} is outside a tree of {n} leaves")
        edge = self._right_edge(n)
        return [
            element
            for k in range(len(edge) - 1)
            if (element := self._sibling(k, index >> k, (n - 1) >> k, edge[k])) is not None
        ]

    def inclusion_proofs(self, size: int | None = None) -> Iterator[list[bytes]]:
        """Yield the inclusion proof of every leaf of the tree of `size` leaves, in index order.

        The same proofs as `inclusion_proof(i, size)` for each i, several
        times faster in bulk: consecutive leaves share most of their path,
        and only the levels where the leaf's ancestor changes are looked up
        again (two on average).
        """
        n = self._check_size(size)  # here, so a bad size raises at the call, not on first use
        return self._all_inclusion_proofs(n) if n else iter(())

    def _all_inclusion_proofs(self, n: int) -> Iterator[list[bytes]]:
        edge = self._right_edge(n)
        height = len(edge) - 1
        lasts = [(n - 1) >> k for k in range(height)]
        sibling = self._sibling
        path = [sibling(k, 0, lasts[k], edge[k]) for k in range(height)]
        yield list(filter(None, path))
        for index in range(1, n):
            k, node = 0, index
            while True:
                path[k] = sibling(k, node, lasts[k], edge[k])
                if node & 1:
                    break
                k, node = k + 1, node >> 1
            yield list(filter(None, path))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return the RFC 9162 proof that the tree of `old_size` leaves extends to `new_size`."""
        n = self._check_size(new_size)
        if not 0 <= old_size <= n:
            raise OutOfRange(f"old size {old_size} must lie between 0 and the new size {n}")
        if old_size in (0, n):
            return []
        # SUBPROOF(m, D[lo:lo+width], complete) of RFC 9162 §2.1.4.1, unrolled;
        # the elements come out root-first and are reversed at the end.
        proof: list[bytes] = []
        m, lo, width, complete = old_size, 0, n, True
        while m != width:
            k = _largest_power_of_two_below(width)
            if m <= k:
                proof.append(self._subtree_root(lo + k, lo + width))
                width = k
            else:
                proof.append(self._subtree_root(lo, lo + k))
                lo, m, width, complete = lo + k, m - k, width - k, False
        if not complete:
            proof.append(self._subtree_root(lo, lo + width))
        proof.reverse()
        return proof

    def multiproof(self, indices: Sequence[int], size: int | None = None) -> list[bytes]:
        """Return the multiproof of the leaves at `indices` (strictly increasing) in `size` leaves.

        The hashes of the maximal subtrees holding no selected leaf, in the
        module docstring's order: empty for a whole contiguous tree, the
        inclusion proof for one leaf, ``[root]`` for no leaf at all. Raises
        OutOfRange for an index outside the tree, UnorderedIndices for
        indices that do not strictly increase.
        """
        return list(self.iter_multiproof(indices, size))

    def iter_multiproof(self, indices: Iterable[int], size: int | None = None) -> Iterator[bytes]:
        """Yield `multiproof(indices, size)` element by element, reading `indices` lazily.

        For writers that stream: memory stays O(log n) however many leaves are
        selected. A bad size raises here; a bad index raises when reached.
        """
        n = self._check_size(size)
        return self._multiproof(iter(indices), n)

    def _multiproof(self, indices: Iterator[int], n: int) -> Iterator[bytes]:
        # The walk of `MultiproofVerifier.add_leaf`, emitting where it consumes.
        current = next(indices, None)
        if current is None:
            if n:
                yield self.root(n)
            return
        _check_index(current, -1, n)
        edge = self._right_edge(n)
        top = len(edge) - 1
        lasts = [(n - 1) >> k for k in range(top + 1)]
        sibling = self._sibling
        pending: list[int] = []  # levels of selected left subtrees waiting for their right part
        while current is not None:
            following = next(indices, None)
            if following is not None:
                _check_index(following, current, n)
            k, j = 0, current
            while k < top:
                if following is not None and following >> (k + 1) == j >> 1:
                    pending.append(k)
                    break
                if j & 1 and pending and pending[-1] == k:
                    pending.pop()
                else:
                    element = sibling(k, j, lasts[k], edge[k])
                    if element is not None:
                        yield element
                k, j = k + 1, j >> 1
            current = following

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise OutOfRange(f"tree size {size} is outside 0..{self.size}")
        return size

    def _node(self, level: int, index: int) -> bytes:
        at = index * HASH_SIZE
        return bytes(self._levels[level][at : at + HASH_SIZE])

    def _sibling(self, level: int, node: int, last: int, last_hash: bytes) -> bytes | None:
        """The proof element at `level` for the path through `node`, or None where there is none.

        `last` is the index of the level's last node in the tree being proved
        and `last_hash` its hash (it may be ragged, hence not stored).
        """
        sibling = node ^ 1
        if sibling < last:
            at = sibling * HASH_SIZE
            return bytes(self._levels[level][at : at + HASH_SIZE])
        if sibling == last:
            return last_hash
        return None

    def _grow(self) -> None:
        """Hash every newly completed pair, level by level, after leaves were appended."""
        levels, h = self._levels, self._h
        k = 0
        while len(levels[k]) >= 2 * HASH_SIZE:
            if k + 1 == len(levels):
                levels.append(bytearray())
            lower, upper = levels[k], levels[k + 1]
            have, want = len(upper) // HASH_SIZE, len(lower) // (2 * HASH_SIZE)
            if have == want:
                break
            pair = 2 * HASH_SIZE
            for at in range(have * pair, want * pair, pair):
                upper += h(_NODE + lower[at : at + pair])
            k += 1

    def _right_edge(self, n: int) -> list[bytes]:
        """Hashes of the last node of each level in the tree of n > 0 leaves; the last is the root.

        A last node is a complete subtree or a ragged one (fewer than 2**k
        leaves, so not stored); either way it is the node an inclusion proof
        needs when its path passes beside the right edge.
        """
        cached_size, cached = self._edge_cache
        if cached_size == n:
            return cached
        h, levels = self._h, self._levels
        last = n - 1
        edge = [self._node(0, last)]
        for k in range((n - 1).bit_length()):
            j = last >> k
            if j & 1:
                at = (j - 1) * HASH_SIZE
                edge.append(h(_NODE + levels[k][at : at + HASH_SIZE] + edge[k]))
            else:
                edge.append(edge[k])  # no sibling: the node moves up unchanged
        self._edge_cache = (n, edge)
        return edge

    def _subtree_root(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a range met in the RFC 9162 recursion (lo aligned to its left part)."""
        width = hi - lo
        if width & (width - 1) == 0 and lo % width == 0:
            return self._node(width.bit_length() - 1, lo // width)
        k = _largest_power_of_two_below(width)
        return self._h(_NODE + self._subtree_root(lo, lo + k) + self._subtree_root(lo + k, hi))

    def __repr__(self) -> str:
        return f"MerkleTree(hash={self._hash_name!r}, size={self.size})"


def _well_formed(hashes: Iterable[bytes]) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    leaf_hash: bytes,
    index: int,
    tree_size: int,
    proof: Sequence[bytes],
    root: bytes,
    hash: HashName = "sm3",
) -> bool:
    """Check an inclusion proof against a root (RFC 9162 §2.1.3.2).

    A root does not commit to the size of its tree, so take `tree_size` and
    `root` from the same signed checkpoint, never from separate sources.
    """
    h = _hash_function(hash)
    if not 0 <= index < tree_size or not _well_formed((leaf_hash, root, *proof)):
        return False
    fn, sn, r = index, tree_size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = h(_NODE + p + r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = h(_NODE + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, root)


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
    hash: HashName = "sm3",
) -> bool:
    """Check that the `old_root` tree is a prefix of the `new_root` tree (RFC 9162 §2.1.4.2).

    RFC 9162 defines the algorithm for 0 < old_size < new_size. The edge
    cases: equal sizes need an empty proof and equal roots; old size 0 needs
    an empty proof and `old_root` equal to the empty tree's root.
    """
    h = _hash_function(hash)
    if not 0 <= old_size <= new_size or not _well_formed((old_root, new_root, *proof)):
        return False
    if old_size == new_size:
        return not proof and hmac.compare_digest(old_root, new_root)
    if old_size == 0:
        return not proof and hmac.compare_digest(old_root, h(b""))
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = h(_NODE + c + fr)
            sr = h(_NODE + c + sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = h(_NODE + sr + c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)


def _check_index(index: int, previous: int, n: int) -> None:
    if not isinstance(index, int) or not 0 <= index < n:
        raise OutOfRange(f"leaf index {index} is outside a tree of {n} leaves")
    if index <= previous:
        raise UnorderedIndices(f"leaf indices must strictly increase: {index} after {previous}")


class MultiproofVerifier:
    """Recompute a root from a multiproof and its leaves, streamed in increasing index order.

    Holds O(log n) hashes however many leaves are fed, and reads `proof`
    lazily, one element at a time, so both can come from files. Give every
    selected ``(index, leaf_hash)`` to `add_leaf`, then ask `root()` or
    `verify(root)`. Anything wrong (an index out of range or order, a
    missing, malformed or surplus proof element) fails the verifier for
    good: `add_leaf` returns False and `root()` None. Nothing here raises on
    bad input.
    """

    __slots__ = (
        "_failed",
        "_finished",
        "_h",
        "_hash",
        "_index",
        "_lasts",
        "_n",
        "_pending",
        "_proof",
        "_result",
        "_top",
    )

    def __init__(self, size: int, proof: Iterable[bytes], hash: HashName = "sm3") -> None:
        self._h = _hash_function(hash)
        self._failed = not isinstance(size, int) or size < 0
        self._n = size if not self._failed else 0
        n = self._n
        self._top = (n - 1).bit_length() if n else 0
        self._lasts = [(n - 1) >> k for k in range(self._top + 1)] if n else []
        self._proof = iter(proof)
        self._pending: list[tuple[int, bytes]] = []  # selected left subtrees: (level, hash)
        self._index = -1
        self._hash: bytes | None = None  # the last leaf fed, folded when the next one arrives
        self._finished = False
        self._result: bytes | None = None

    @property
    def failed(self) -> bool:
        """True once the leaves or the proof were found wrong."""
        return self._failed

    def add_leaf(self, index: int, leaf_hash: bytes) -> bool:
        """Feed the next selected leaf; False (for good) if it or the proof so far is wrong."""
        if (
            self._failed
            or self._finished
            or not isinstance(index, int)
            or not self._index < index < self._n
            or not isinstance(leaf_hash, bytes)
            or len(leaf_hash) != HASH_SIZE
        ):
            self._failed = True
            return False
        if self._hash is not None and not self._fold(index):
            return False
        self._index, self._hash = index, leaf_hash
        return True

    def root(self) -> bytes | None:
        """The root the leaves and proof recompute, or None if they are inconsistent."""
        if self._finished:
            return self._result
        self._finished = True
        if self._failed:
            return None
        if self._hash is None:  # no leaf selected: the proof is the root itself
            self._result = self._h(b"") if self._n == 0 else self._take()
        elif self._fold(None):
            self._result = self._hash
        if next(self._proof, None) is not None:  # surplus elements
            self._failed = True
        if self._failed:
            self._result = None
        return self._result

    def verify(self, root: bytes) -> bool:
        """Whether the leaves and proof recompute `root`."""
        computed = self.root()
        return (
            computed is not None
            and isinstance(root, bytes)
            and len(root) == HASH_SIZE
            and hmac.compare_digest(computed, root)
        )

    def _take(self) -> bytes | None:
        element = next(self._proof, None)
        if not isinstance(element, bytes) or len(element) != HASH_SIZE:
            self._failed = True
            return None
        return element

    def _fold(self, following: int | None) -> bool:
        """Hash the last leaf up to where `following` joins it (to the root when None)."""
        h, lasts, pending, take = self._h, self._lasts, self._pending, self._take
        k, j, r = 0, self._index, self._hash
        assert r is not None
        while k < self._top:
            if following is not None and following >> (k + 1) == j >> 1:
                pending.append((k, r))  # the right part holds `following`: wait for it
                return True
            if j & 1:
                if pending and pending[-1][0] == k:
                    r = h(_NODE + pending.pop()[1] + r)
                else:
                    left = take()
                    if left is None:
                        return False
                    r = h(_NODE + left + r)
            elif j < lasts[k]:  # a right sibling exists and holds no selected leaf
                right = take()
                if right is None:
                    return False
                r = h(_NODE + r + right)
            k, j = k + 1, j >> 1
        self._hash = r
        return True


def multiproof_root(
    leaves: Iterable[tuple[int, bytes]],
    size: int,
    proof: Iterable[bytes],
    hash: HashName = "sm3",
) -> bytes | None:
    """The root that `leaves` (``(index, leaf_hash)``, increasing) and `proof` give, or None."""
    verifier = MultiproofVerifier(size, proof, hash)
    add_leaf = verifier.add_leaf
    try:
        for index, leaf in leaves:
            if not add_leaf(index, leaf):
                return None
    except (TypeError, ValueError):  # an item that is not an (index, hash) pair
        return None
    return verifier.root()


def verify_multiproof(
    leaves: Iterable[tuple[int, bytes]],
    size: int,
    proof: Sequence[bytes],
    root: bytes,
    hash: HashName = "sm3",
) -> bool:
    """Check a multiproof of ``(index, leaf_hash)`` pairs against a root; never raises on bad input.

    `leaves` must come in strictly increasing index order and is read once,
    lazily, in O(log n) memory besides `proof`. As with `verify_inclusion`,
    take `size` and `root` from the same signed checkpoint.
    """
    computed = multiproof_root(leaves, size, proof, hash)
    return (
        computed is not None
        and isinstance(root, bytes)
        and len(root) == HASH_SIZE
        and hmac.compare_digest(computed, root)
    )
