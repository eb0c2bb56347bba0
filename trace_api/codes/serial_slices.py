"""A batch's serials, drawn chunk by chunk in the sealing workers, already in batch order.

Leaf ``i`` of a batch's tree is the batch's ``i``-th smallest serial (docs/codes.md), so
serials used to be drawn for the whole batch and sorted before any chunk could be
sealed: about 1 µs a code in the parent, while the workers waited. Instead, the 80-bit
serial space is cut into one slice per chunk, each as wide as its share of the batch, and
each worker draws its chunk's serials uniformly inside its own slice from the OS CSPRNG
and sorts them. Slices are disjoint and ascending, so the chunks come out in batch order
and no two chunks can share a serial.

Guessing stays as hard: the batch's codes lie at the same density, N per 2^80, all over
the space, so a guess hits one with probability N / 2^80 as before. Every serial is
uniform in a slice at least 2^80 * CHUNK / N wide (over 2^66 values for N = 10^8 and the
issuer's chunk of 2^13), and the same serial format, alphabet and check character apply
(`crypto.serials`).
"""

from __future__ import annotations

import os

import numpy as np

from crypto.serials import ALPHABET, PAYLOAD_LENGTH

SPACE = 1 << (5 * PAYLOAD_LENGTH)  # 2^80 payload values
_BYTES = 5 * PAYLOAD_LENGTH // 8  # 10 bytes give exactly 16 base32 symbols
_DRAW = 16  # random bytes per draw: 128 bits mapped onto a slice, bias below 2^-48

# Each symbol's Luhn mod 32 contribution, undoubled and doubled (as `crypto.serials` computes
# it); a payload's doubled symbols sit at its odd offsets.
_N = len(ALPHABET)
_SYMBOLS = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
_WEIGHTS = np.array(
    [[v if at % 2 == 0 else (2 * v) // _N + (2 * v) % _N for at in range(PAYLOAD_LENGTH)]
     for v in range(_N)],
    dtype=np.int64,
)  # fmt: skip
_BIT_PLACES = np.array([16, 8, 4, 2, 1], dtype=np.uint8)


def slice_of(start: int, count: int, total: int) -> tuple[int, int]:
    """The slice ``[low, high)`` of payload values for the chunk ``start .. start+count``."""
    return start * SPACE // total, (start + count) * SPACE // total


def draw_slice(low: int, high: int, count: int) -> list[str]:
    """``count`` distinct serials with payload values in ``[low, high)``, ascending."""
    width = high - low
    if count > width:
        raise ValueError(f"a slice of {width} values cannot hold {count} serials")
    values: set[int] = set()
    while len(values) < count:  # a repeat in a slice of 2^53 values or more: practically never
        need = count - len(values)
        raw = os.urandom(_DRAW * need)
        values.update(
            low + (int.from_bytes(raw[at : at + _DRAW], "big") * width >> (8 * _DRAW))
            for at in range(0, _DRAW * need, _DRAW)
        )
    return serials_of(sorted(values))


def serials_of(values: list[int]) -> list[str]:
    """Serials (payload and check symbol) of payload values below 2^80, in the same order.

    Vectorised: Python's own base32 encoder loops in Python (2 µs a serial on this
    machine), numpy cuts the 80 bits into 16 symbols for all serials at once.
    """
    n = len(values)
    if n == 0:
        return []
    raw = np.frombuffer(b"".join([value.to_bytes(_BYTES, "big") for value in values]), np.uint8)
    digits = np.unpackbits(raw).reshape(n, PAYLOAD_LENGTH, 5) @ _BIT_PLACES  # (n, 16), 0..31
    check = -_WEIGHTS[digits, np.arange(PAYLOAD_LENGTH)].sum(axis=1) % _N
    text = np.empty((n, PAYLOAD_LENGTH + 1), dtype=np.uint8)
    text[:, :PAYLOAD_LENGTH] = _SYMBOLS[digits]
    text[:, PAYLOAD_LENGTH] = _SYMBOLS[check]
    joined = text.tobytes().decode("ascii")
    step = PAYLOAD_LENGTH + 1
    return [joined[at : at + step] for at in range(0, step * n, step)]
