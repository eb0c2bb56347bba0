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
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal

from crypto.errors import MalformedHash, OutOfRange, UnsupportedHash
from crypto.sm3 import sm3

__all__ = [
    "HASH_SIZE",
    "HashName",
    "MerkleTree",
    "empty_root",
    "leaf_hash",
    "verify_consistency",
    "verify_inclusion",
]

HashName = Literal["sm3", "sha256"]
HASH_SIZE = 32  # both SM3 and SHA-256
_LEAF = b"\x00"
_NODE = b"\x01"


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
