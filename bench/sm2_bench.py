"""SM2 signing and verification per second: the secret-scalar path beside the old fast path.

Run: .venv/bin/python bench/sm2_bench.py [--quick]

`crypto.sm2` signs with a fixed sequence of operations (every window, every table entry,
complete additions, Fermat inversions; see its docstring). The baseline is the path signing
took before: the variable-time fixed-base multiplication that verification still uses
(zero digits skipped, table indexed by digit) with Euclid's inversion, timed in the same
run on the same key, nonces and digests. Both produce the same signatures, which is checked
here too. Key set-up (d·G) is timed the same way. gmssl's pure-Python SM2 is shown for scale.
Prints figures, asserts nothing but agreement.
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections.abc import Callable

from gmssl.sm2 import CryptSM2

from crypto import sm2

N = sm2._N


def _old_sign(d: int, e: int, k: int) -> tuple[int, int]:
    """Signing's A4-A7 as it was: fast-path k·G and ``pow(1 + d, -1, n)``, both variable-time."""
    point = sm2._to_affine(sm2._mul_base(k))
    assert point is not None
    r = (e + point[0]) % N
    return r, pow(1 + d, -1, N) * (k - r * d) % N


def _old_key(d: int) -> sm2.PublicKey:
    point = sm2._to_affine(sm2._mul_base(d))
    assert point is not None
    return sm2.PublicKey(*point)


def _rate(count: int, work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return count / (time.perf_counter() - start)


def main() -> None:
    """Time each operation over the same inputs and print operations per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer operations, a second or two")
    count = 200 if parser.parse_args().quick else 2_000

    sm2._base_table()
    sm2._secret_table()  # both tables are built on first use; keep that out of the figures
    key = sm2.PrivateKey.generate()
    d = int.from_bytes(key.to_bytes(), "big")
    message = b"checkpoint 4096: size and root of the audit log"
    e = sm2._digest(key.public_key._point, message, sm2.DEFAULT_USER_ID)
    nonces = [secrets.randbelow(N - 1) + 1 for _ in range(count)]
    scalars = [secrets.randbelow(N - 2) + 1 for _ in range(count)]

    new = [key._sign_digest(e, k) for k in nonces[:50]]
    old = [sm2._encode_signature(*_old_sign(d, e, k)) for k in nonces[:50]]
    assert new == old, "the secret path and the old path sign differently"
    signatures = [key.sign(message) for _ in range(count)]
    gmssl = CryptSM2(private_key=key.to_bytes().hex(), public_key=key.public_key.hex()[2:])
    gmssl_count = max(10, count // 20)

    public = key.public_key
    rows: list[tuple[str, Callable[[], object]]] = [
        ("sign, old variable-time path (baseline)", lambda: [_old_sign(d, e, k) for k in nonces]),
        (
            "sign, secret-scalar path (_sign_digest)",
            lambda: [key._sign_digest(e, k) for k in nonces],
        ),
        ("sign, PrivateKey.sign (with SM3 and nonce)", lambda: [key.sign(message) for _ in nonces]),
        (
            "verify, PublicKey.verify (fast path)",
            lambda: [public.verify(s, message) for s in signatures],
        ),
        (
            "key set-up d·G, old variable-time path (baseline)",
            lambda: [_old_key(s) for s in scalars],
        ),
        (
            "key set-up d·G, secret-scalar path (PrivateKey)",
            lambda: [sm2.PrivateKey(s) for s in scalars],
        ),
    ]
    rates = [(name, count, _rate(count, work)) for name, work in rows]
    gmssl_k = [f"{k:064x}" for k in nonces[:gmssl_count]]
    rates.append(
        (
            "sign, gmssl CryptSM2.sign (pure Python, for scale)",
            gmssl_count,
            _rate(gmssl_count, lambda: [gmssl.sign(message, k) for k in gmssl_k]),
        )
    )

    sign_baseline, setup_baseline = rates[0][2], rates[4][2]
    print(f"\nSM2 on sm2p256v1, {count:,} operations each, one key, same nonces and scalars")
    print(f"{'operation':<56}{'count':>8}{'per s':>10}{'µs each':>10}{'vs old':>9}")
    for name, n, rate in rates:
        kind = name.split(",", 1)[0]
        baseline = {"sign": sign_baseline, "key set-up d·G": setup_baseline}.get(kind)
        ratio = f"{rate / baseline:>8.2f}x" if baseline else ""  # verification did not change
        print(f"{name:<56}{n:>8,}{rate:>10,.0f}{1e6 / rate:>10.0f}{ratio}")


if __name__ == "__main__":
    main()
