"""Benchmarks for `crypto`: SM4-GCM sealing and 1M-leaf Merkle trees, beside same-run baselines.

Run: .venv/bin/python bench/crypto_bench.py [--quick]

Sealing (a 100-byte payload, about 40 bytes of associated data) is timed
through our API and through `cryptography` used directly, which is the
floor our wrappers add overhead to; gmssl's pure-Python SM4 (CBC: it has no
GCM) shows what a pure-Python cipher costs. The Merkle part builds a tree of
1,000,000 leaves and produces every inclusion proof, with ours and with
pymerkle's InmemoryTree (SHA-256 only, so our SHA-256 tree is the
like-for-like comparison; SM3 is what the service uses). Prints figures,
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl.sm4 import SM4_ENCRYPT, CryptSM4
from pymerkle import InmemoryTree

from crypto import sm4
from crypto.envelope import Keyring
from crypto.merkle import HashName, MerkleTree

PAYLOAD = os.urandom(100)
AD = b"https://id.example.com/01/06901234567892/21/7K3QZ9M4W2XR8TVBY"[:40]


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


# --- SM4-GCM sealing -----------------------------------------------------------------------


def _raw_cryptography(key: bytes, n: int) -> None:
    urandom, gcm = os.urandom, modes.GCM
    for _ in range(n):
        nonce = urandom(12)
        encryptor = Cipher(algorithms.SM4(key), gcm(nonce)).encryptor()
        encryptor.authenticate_additional_data(AD)
        body = encryptor.update(PAYLOAD) + encryptor.finalize()
        _ = nonce + body + encryptor.tag


def _our_seal(key: bytes, n: int) -> None:
    seal = sm4.seal
    for _ in range(n):
        seal(key, PAYLOAD, AD)


def _our_seal_many(key: bytes, n: int) -> None:
    sm4.seal_many(key, [(PAYLOAD, AD)] * n)


def _keyring_seal(keyring: Keyring, n: int) -> None:
    seal = keyring.seal
    for _ in range(n):
        seal(PAYLOAD, AD)


def _keyring_seal_many(keyring: Keyring, n: int) -> None:
    keyring.seal_many([(PAYLOAD, AD)] * n)


def _gmssl_cbc(key: bytes, n: int) -> None:
    cipher = CryptSM4()
    cipher.set_key(key, SM4_ENCRYPT)
    for _ in range(n):
        cipher.crypt_cbc(os.urandom(16), PAYLOAD)


def bench_sealing(n: int, n_gmssl: int) -> None:
    """Print seals per second for each way of sealing, and the ratio to raw cryptography."""
    key = sm4.generate_key()
    keyring = Keyring.new("bench")
    rows: list[tuple[str, int, float]] = []
    for name, count, work in [
        ("cryptography Cipher(SM4, GCM), direct", n, lambda: _raw_cryptography(key, n)),
        ("crypto.sm4.seal", n, lambda: _our_seal(key, n)),
        ("crypto.sm4.seal_many", n, lambda: _our_seal_many(key, n)),
        ("crypto.envelope.Keyring.seal", n, lambda: _keyring_seal(keyring, n)),
        ("crypto.envelope.Keyring.seal_many", n, lambda: _keyring_seal_many(keyring, n)),
        ("gmssl CryptSM4 CBC (no auth, pure Python)", n_gmssl, lambda: _gmssl_cbc(key, n_gmssl)),
    ]:
        rows.append((name, count, _timed(work)))
    baseline = rows[0][1] / rows[0][2]
    print(f"\nSM4 sealing: {len(PAYLOAD)}-byte payload, {len(AD)}-byte associated data")
    print(f"{'method':<44}{'items':>10}{'seconds':>10}{'items/s':>12}{'µs/item':>10}{'vs raw':>9}")
    for name, count, seconds in rows:
        rate = count / seconds
        print(
            f"{name:<44}{count:>10,}{seconds:>10.2f}{rate:>12,.0f}"
            f"{1e6 / rate:>10.2f}{rate / baseline:>8.2f}x"
        )


# --- Merkle trees --------------------------------------------------------------------------


def _consume(proofs: Iterable[list[bytes]]) -> int:
    """Walk the proofs without keeping them (as a writer streaming them to storage would)."""
    return sum(len(proof) for proof in proofs)


def _ours(hash_name: HashName, leaves: list[bytes]) -> tuple[list[tuple[str, float]], bytes]:
    rows: list[tuple[str, float]] = []
    tree = MerkleTree(hash_name)
    rows.append((f"ours {hash_name}: build", _timed(lambda: tree.extend(leaves))))
    rows.append(
        (
            f"ours {hash_name}: all proofs, inclusion_proofs()",
            _timed(lambda: _consume(tree.inclusion_proofs())),
        )
    )
    proof = tree.inclusion_proof
    size = tree.size
    rows.append(
        (
            f"ours {hash_name}: all proofs, inclusion_proof(i) each",
            _timed(lambda: _consume(proof(i) for i in range(size))),
        )
    )
    return rows, tree.root()


def _pymerkle(leaves: list[bytes], budget: float) -> tuple[list[tuple[str, float]], bytes]:
    rows: list[tuple[str, float]] = []
    tree = InmemoryTree(algorithm="sha256")
    rows.append(("pymerkle sha256: build", _timed(lambda: tree.append_entries(leaves))))
    size = tree.get_size()
    done = 0
    start = time.perf_counter()
    prove = tree.prove_inclusion
    while done < size and time.perf_counter() - start < budget:
        stop = min(size, done + 10_000)
        for index in range(done + 1, stop + 1):  # pymerkle counts leaves from 1
            prove(index)
        done = stop
    elapsed = time.perf_counter() - start
    if done == size:
        rows.append(("pymerkle sha256: all proofs, prove_inclusion(i) each", elapsed))
    else:
        label = f"pymerkle sha256: all proofs, EXTRAPOLATED from {done:,}"
        rows.append((label, elapsed * size / done))
    return rows, tree.get_root()


def bench_merkle(size: int, pymerkle_budget: float) -> None:
    """Print the time to build a tree of `size` leaves and to produce every inclusion proof."""
    leaves = [os.urandom(48) for _ in range(size)]
    rows: list[tuple[str, float]] = []
    sm3_rows, _ = _ours("sm3", leaves)
    sha_rows, our_root = _ours("sha256", leaves)
    py_rows, py_root = _pymerkle(leaves, pymerkle_budget)
    rows = sm3_rows + sha_rows + py_rows
    print(f"\nMerkle tree of {size:,} leaves (48-byte entries)")
    print(f"{'work':<58}{'seconds':>10}{'µs/leaf':>10}")
    for name, seconds in rows:
        print(f"{name:<58}{seconds:>10.2f}{seconds / size * 1e6:>10.2f}")
    agree = "yes" if our_root == py_root else "NO"
    print(f"SHA-256 roots of ours and pymerkle agree: {agree}")


def main() -> None:
    """Run both benchmarks; --quick uses smaller sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few seconds")
    args = parser.parse_args()
    if args.quick:
        bench_sealing(n=20_000, n_gmssl=1_000)
        bench_merkle(size=100_000, pymerkle_budget=5.0)
    else:
        bench_sealing(n=300_000, n_gmssl=5_000)
        bench_merkle(size=1_000_000, pymerkle_budget=75.0)


if __name__ == "__main__":
    main()
