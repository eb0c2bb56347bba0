"""SM2 digital signatures (GB/T 32918.2-2016) on the curve sm2p256v1, with SM3.

The message digest is ``e = SM3(Z_A || M)`` where ``Z_A = SM3(ENTL_A || ID_A
|| a || b || x_G || y_G || x_A || y_A)`` binds the signer's user id and public
key (GB/T 32918.2 §5.5); the default user id is ``b"1234567812345678"``
(GM/T 0009). Signatures are DER: ``SEQUENCE { INTEGER r, INTEGER s }``.
Public keys travel uncompressed: ``04 || x || y`` (65 bytes).

Why our own arithmetic rather than gmssl's `CryptSM2`: gmssl draws the
signing nonce k from Python's `random` module (`gmssl.func.random_hex` uses
`random.choice`, a Mersenne Twister), which is predictable, and a
predictable k gives away the private key. Here k comes from `secrets`
(the OS CSPRNG), uniformly in [1, n-1].

Secret scalars and public scalars take different paths. Verification, whose
scalars are public, uses Jacobian coordinates that skip zero digits, index a
precomputed table of multiples of G by digit, and branch on the identity:
fast, and timing there reveals nothing secret. Key set-up (d·G) and signing
(k·G) use `_mul_base_secret`, whose *sequence of operations* does not depend
on the scalar: always 64 windows of 4 bits, zero digits included; in every
window all 16 entries of the table row are read and combined with masks
derived from the digit, never indexed by it; then one complete addition
(Renes-Costello-Batina 2016, Algorithm 4: no exceptional inputs on a curve
of prime order, so the identity needs no branch). The final inversion and
signing's 1/(1+d) use Fermat's little theorem, ``pow(z, p-2, p)``, whose
square-and-multiply pattern follows the public exponent, rather than the
extended Euclid of ``pow(z, -1, p)``, whose steps follow z. The retries of
GB/T 32918.2 §6.1 (r = 0, r + k = n, s = 0) branch, but happen with
probability about 3/n and then only reveal a discarded k.
`tests/crypto/test_crypto_sm2_secret_scalars.py` checks that the bytecode
executed and the table entries read are the same for very different k.

What is *not* constant-time: each operation is a CPython big-integer
operation, and CPython makes no promise about their timing. Its `&`, `*`,
`%` and `pow` take time that grows with the operands' sizes in 30-bit
digits and short-cut on zero (``entry & 0`` is quicker than
``entry & -1``; a coordinate with leading zero digits multiplies faster),
``==`` stops at the first differing digit, and the interpreter allocates
and caches small ints. So the code leaks no secret through which
operations run or which table entries it reads, but the duration of single
operations can still depend on secret values, by nanoseconds to tens of
nanoseconds each. That is well below what a network observer sees, not
below what a co-resident process measuring caches or cycles might. Keep
signing keys in processes where an attacker cannot time individual
signatures at that grain; for a hardened signer use a C implementation
(OpenSSL's, through `cryptography`, once it exposes SM2 signing).

The price: a signature costs 1.5 to 2 times the curve work of the
variable-time path (0.7-1.0 ms against 0.45-0.55 ms on a busy 2-core
machine), key set-up about 2 times; verification is unchanged.
`bench/sm2_bench.py` prints both paths side by side.
"""

from __future__ import annotations

import hmac
import secrets
from functools import cache

from crypto.errors import InvalidKey, InvalidSignature, InvalidUserId
from crypto.sm3 import sm3

__all__ = ["DEFAULT_USER_ID", "PrivateKey", "PublicKey"]

DEFAULT_USER_ID = b"1234567812345678"

# sm2p256v1, GB/T 32918.5-2017 (GM/T 0003.5-2012) recommended parameters.
_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
_GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

_WINDOW = 4
_DIGITS = 256 // _WINDOW
_MASK = (1 << _WINDOW) - 1

_Jacobian = tuple[int, int, int]  # (X, Y, Z) with x = X/Z^2, y = Y/Z^3; Z == 0 is infinity
_Affine = tuple[int, int]
_INFINITY: _Jacobian = (1, 1, 0)


def _double(pt: _Jacobian) -> _Jacobian:
    # dbl-2001-b, which relies on a = -3 (true for sm2p256v1).
    x1, y1, z1 = pt
    if z1 == 0 or y1 == 0:
        return _INFINITY
    p = _P
    delta = z1 * z1 % p
    gamma = y1 * y1 % p
    beta = x1 * gamma % p
    alpha = 3 * (x1 - delta) * (x1 + delta) % p
    x3 = (alpha * alpha - 8 * beta) % p
    z3 = ((y1 + z1) ** 2 - gamma - delta) % p
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % p
    return x3, y3, z3


def _add(p1: _Jacobian, p2: _Jacobian) -> _Jacobian:
    # add-2007-bl, falling back to doubling when both points are equal.
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    if z1 == 0:
        return p2
    if z2 == 0:
        return p1
    p = _P
    z1z1 = z1 * z1 % p
    z2z2 = z2 * z2 % p
    u1 = x1 * z2z2 % p
    u2 = x2 * z1z1 % p
    s1 = y1 * z2 * z2z2 % p
    s2 = y2 * z1 * z1z1 % p
    h = (u2 - u1) % p
    r = 2 * (s2 - s1) % p
    if h == 0:
        return _double(p1) if r == 0 else _INFINITY
    i = 4 * h * h % p
    j = h * i % p
    v = u1 * i % p
    x3 = (r * r - j - 2 * v) % p
    y3 = (r * (v - x3) - 2 * s1 * j) % p
    z3 = ((z1 + z2) ** 2 - z1z1 - z2z2) * h % p
    return x3, y3, z3


def _add_affine(p1: _Jacobian, p2: _Affine) -> _Jacobian:
    # madd-2007-bl: p2 has Z == 1.
    x1, y1, z1 = p1
    x2, y2 = p2
    if z1 == 0:
        return x2, y2, 1
    p = _P
    z1z1 = z1 * z1 % p
    u2 = x2 * z1z1 % p
    s2 = y2 * z1 * z1z1 % p
    h = (u2 - x1) % p
    r = 2 * (s2 - y1) % p
    if h == 0:
        return _double(p1) if r == 0 else _INFINITY
    hh = h * h % p
    i = 4 * hh
    j = h * i % p
    v = x1 * i % p
    x3 = (r * r - j - 2 * v) % p
    y3 = (r * (v - x3) - 2 * y1 * j) % p
    z3 = ((z1 + h) ** 2 - z1z1 - hh) % p
    return x3, y3, z3


def _to_affine(pt: _Jacobian) -> _Affine | None:
    x, y, z = pt
    if z == 0:
        return None
    z_inv = pow(z, -1, _P)
    z_inv2 = z_inv * z_inv % _P
    return x * z_inv2 % _P, y * z_inv2 * z_inv % _P


@cache
def _base_table() -> tuple[tuple[_Affine, ...], ...]:
    """Affine ``j * 16**i * G`` for i in 0..63 and j in 1..15, built on first use."""
    rows: list[list[_Jacobian]] = []
    base: _Jacobian = (_GX, _GY, 1)
    for _ in range(_DIGITS):
        row = [base]
        for _ in range(_MASK - 1):
            row.append(_add(row[-1], base))
        rows.append(row)
        base = _double(row[7])  # row[7] is 8 * base, so this is 16 * base
    flat = [pt for row in rows for pt in row]
    # Montgomery's trick: one inversion for all 960 points.
    prefix = [1] * (len(flat) + 1)
    for k, (_, _, z) in enumerate(flat):
        prefix[k + 1] = prefix[k] * z % _P
    inv = pow(prefix[-1], -1, _P)
    affine: list[_Affine] = [(0, 0)] * len(flat)
    for k in range(len(flat) - 1, -1, -1):
        x, y, z = flat[k]
        z_inv = inv * prefix[k] % _P
        inv = inv * z % _P
        z_inv2 = z_inv * z_inv % _P
        affine[k] = (x * z_inv2 % _P, y * z_inv2 * z_inv % _P)
    return tuple(tuple(affine[i * _MASK : (i + 1) * _MASK]) for i in range(_DIGITS))


def _mul_base(k: int) -> _Jacobian:
    acc = _INFINITY
    for row in _base_table():
        digit = k & _MASK
        if digit:
            acc = _add_affine(acc, row[digit - 1])
        k >>= _WINDOW
    return acc


def _mul(k: int, point: _Affine) -> _Jacobian:
    base: _Jacobian = (point[0], point[1], 1)
    table: list[_Jacobian] = [_INFINITY, base]
    for _ in range(_MASK - 1):
        table.append(_add(table[-1], base))
    acc = _INFINITY
    for shift in range(256 - _WINDOW, -1, -_WINDOW):
        for _ in range(_WINDOW):
            acc = _double(acc)
        digit = (k >> shift) & _MASK
        if digit:
            acc = _add(acc, table[digit])
    return acc


# --- Secret scalars: the same operations, in the same order, for every scalar ---------------

_Projective = tuple[int, int, int]  # homogeneous (X, Y, Z) with x = X/Z, y = Y/Z
_IDENTITY: _Projective = (0, 1, 0)
_COORD = (1 << 256) - 1


def _add_complete(p1: _Projective, p2: _Projective) -> _Projective:
    """P1 + P2 for any two points, the identity and P1 = ±P2 included, without a branch.

    Renes-Costello-Batina 2016 (eprint 2015/1060), Algorithm 4 for a = -3, with its
    steps grouped; it is complete because sm2p256v1 has prime order.
    """
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    p, b = _P, _B
    xx = x1 * x2 % p
    yy = y1 * y2 % p
    zz = z1 * z2 % p
    xy = ((x1 + y1) * (x2 + y2) - xx - yy) % p
    yz = ((y1 + z1) * (y2 + z2) - yy - zz) % p
    xz = ((x1 + z1) * (x2 + z2) - xx - zz) % p
    t = 3 * (xz - b * zz) % p
    low, high = yy - t, yy + t
    zz3 = 3 * zz
    u = 3 * (b * xz - zz3 - xx) % p
    v = 3 * xx - zz3
    return (high * xy - yz * u) % p, (high * low + v * u) % p, (low * yz + xy * v) % p


@cache
def _secret_table() -> tuple[tuple[int, ...], ...]:
    """Row i: ``j * 16**i * G`` for j in 0..15, packed as ``X || Y || Z``, the identity first."""
    identity = _IDENTITY[1] << 256
    return tuple(
        (identity, *((x << 512) | (y << 256) | 1 for x, y in row)) for row in _base_table()
    )


def _select(row: tuple[int, ...], digit: int) -> _Projective:
    """Entry ``row[digit]``, found by reading every entry and masking all but the one."""
    chosen = 0
    for j, entry in enumerate(row):
        chosen |= entry & (((digit ^ j) - 1) >> 8)  # -1 where j == digit, else 0 (digit < 16)
    return chosen >> 512, (chosen >> 256) & _COORD, chosen & _COORD


def _mul_base_secret(k: int) -> _Projective:
    """k·G for a secret k in [0, n): 64 windows, 64 full row scans, 64 complete additions."""
    acc = _IDENTITY
    for row in _secret_table():
        acc = _add_complete(acc, _select(row, k & _MASK))
        k >>= _WINDOW
    return acc


def _to_affine_secret(pt: _Projective) -> _Affine:
    """Affine coordinates of a point other than the identity, inverting Z by Fermat."""
    x, y, z = pt
    z_inv = pow(z, _P - 2, _P)
    return x * z_inv % _P, y * z_inv % _P


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < _P and 0 <= y < _P and (y * y - x * x * x - _A * x - _B) % _P == 0


def _int32(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _z_value(point: _Affine, user_id: bytes) -> bytes:
    bits = len(user_id) * 8
    if bits >= 1 << 16:
        raise InvalidUserId("an SM2 user id must be shorter than 8192 bytes")
    return sm3(
        b"".join(
            (
                bits.to_bytes(2, "big"),
                user_id,
                _int32(_A),
                _int32(_B),
                _int32(_GX),
                _int32(_GY),
                _int32(point[0]),
                _int32(point[1]),
            )
        )
    )


def _digest(point: _Affine, message: bytes, user_id: bytes) -> int:
    return int.from_bytes(sm3(_z_value(point, user_id) + message), "big")


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # keeps a sign byte when needed
    return b"\x02" + bytes((len(body),)) + body


def _encode_signature(r: int, s: int) -> bytes:
    body = _der_integer(r) + _der_integer(s)
    return b"\x30" + bytes((len(body),)) + body


def _read_der_integer(data: bytes, offset: int) -> tuple[int, int]:
    if offset + 2 > len(data) or data[offset] != 0x02:
        raise InvalidSignature("malformed DER signature: expected an INTEGER")
    length = data[offset + 1]
    start, end = offset + 2, offset + 2 + length
    if length == 0 or length > 33 or end > len(data):
        raise InvalidSignature("malformed DER signature: bad INTEGER length")
    body = data[start:end]
    if body[0] & 0x80:
        raise InvalidSignature("malformed DER signature: negative INTEGER")
    if length > 1 and body[0] == 0 and not body[1] & 0x80:
        raise InvalidSignature("malformed DER signature: non-minimal INTEGER encoding")
    return int.from_bytes(body, "big"), end


def _decode_signature(signature: bytes) -> tuple[int, int]:
    """Strict DER: one SEQUENCE of two positive, minimally encoded INTEGERs, nothing after."""
    if not isinstance(signature, bytes) or len(signature) < 8:
        raise InvalidSignature("malformed DER signature: too short")
    if signature[0] != 0x30 or signature[1] != len(signature) - 2:
        raise InvalidSignature("malformed DER signature: bad SEQUENCE header or length")
    r, offset = _read_der_integer(signature, 2)
    s, offset = _read_der_integer(signature, offset)
    if offset != len(signature):
        raise InvalidSignature("malformed DER signature: trailing bytes")
    return r, s


class PublicKey:
    """An SM2 public key: a point on sm2p256v1 other than infinity."""

    __slots__ = ("_point",)

    def __init__(self, x: int, y: int) -> None:
        if not _on_curve(x, y):
            raise InvalidKey("the point is not on the SM2 curve sm2p256v1")
        self._point: _Affine = (x, y)

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKey:
        """Parse an uncompressed point, ``04 || x || y`` (65 bytes), checking it is on the curve."""
        if not isinstance(data, bytes) or len(data) != 65 or data[0] != 0x04:
            raise InvalidKey("an SM2 public key is 65 bytes: 0x04, then x and y (32 bytes each)")
        return cls(int.from_bytes(data[1:33], "big"), int.from_bytes(data[33:], "big"))

    def to_bytes(self) -> bytes:
        """Return the uncompressed encoding ``04 || x || y``."""
        return b"\x04" + _int32(self._point[0]) + _int32(self._point[1])

    def hex(self) -> str:
        """Return `to_bytes()` as lowercase hex (130 characters)."""
        return self.to_bytes().hex()

    def z_value(self, user_id: bytes = DEFAULT_USER_ID) -> bytes:
        """Return Z_A, the SM3 hash binding the user id, curve and this key (GB/T 32918.2 §5.5)."""
        return _z_value(self._point, user_id)

    def verify(self, signature: bytes, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> None:
        """Check a DER signature over `message`; raise `InvalidSignature` if it does not hold."""
        r, s = _decode_signature(signature)
        if not (0 < r < _N and 0 < s < _N):
            raise InvalidSignature("signature values r and s must lie in [1, n-1]")
        t = (r + s) % _N
        if t == 0:
            raise InvalidSignature("signature does not verify (r + s = 0 mod n)")
        e = _digest(self._point, message, user_id)
        point = _to_affine(_add(_mul_base(s), _mul(t, self._point)))
        if point is None or not hmac.compare_digest(_int32((e + point[0]) % _N), _int32(r)):
            raise InvalidSignature("signature does not verify for this key, message and user id")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self._point == other._point

    def __hash__(self) -> int:
        return hash(self._point)

    def __repr__(self) -> str:
        return f"PublicKey({self.hex()})"


class PrivateKey:
    """An SM2 private key d in [1, n-2], with its public key."""

    __slots__ = ("_d", "_inverse", "_public_key")

    def __init__(self, d: int) -> None:
        if not 1 <= d <= _N - 2:
            raise InvalidKey("an SM2 private key must lie in [1, n-2]")
        self._d = d
        self._inverse = pow(1 + d, _N - 2, _N)  # 1/(1+d), computed once for every signature
        self._public_key = PublicKey(*_to_affine_secret(_mul_base_secret(d)))

    @classmethod
    def generate(cls) -> PrivateKey:
        """Return a new key drawn from the OS CSPRNG."""
        return cls(secrets.randbelow(_N - 2) + 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> PrivateKey:
        """Load a key from its 32-byte big-endian encoding."""
        if not isinstance(data, bytes) or len(data) != 32:
            raise InvalidKey("an SM2 private key is 32 bytes")
        return cls(int.from_bytes(data, "big"))

    def to_bytes(self) -> bytes:
        """Return the 32-byte big-endian encoding of d. Keep it secret."""
        return _int32(self._d)

    @property
    def public_key(self) -> PublicKey:
        """The matching public key d·G."""
        return self._public_key

    def sign(self, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
        """Sign `message` for `user_id`; returns a DER signature. k comes from `secrets`."""
        e = _digest(self._public_key._point, message, user_id)
        while True:
            signature = self._sign_digest(e, secrets.randbelow(_N - 1) + 1)
            if signature is not None:
                return signature

    def _sign_digest(self, e: int, k: int) -> bytes | None:
        """GB/T 32918.2 §6.1 steps A4-A7 with a given k; None when k must be redrawn."""
        x, _ = _to_affine_secret(_mul_base_secret(k))  # 0 < k < n, so not the identity
        r = (e + x) % _N
        if r == 0 or r + k == _N:
            return None
        s = self._inverse * (k - r * self._d) % _N
        if s == 0:
            return None
        return _encode_signature(r, s)

    def __repr__(self) -> str:
        return f"PrivateKey(public_key={self._public_key.hex()})"
