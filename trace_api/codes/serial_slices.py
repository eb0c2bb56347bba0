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

import base64
import os

from crypto.serials import ALPHABET, PAYLOAD_LENGTH

SPACE = 1 << (5 * PAYLOAD_LENGTH)  # 2^80 payload values
_BYTES = 5 * PAYLOAD_LENGTH // 8  # 10 bytes give exactly 16 base32 symbols
_DRAW = 16  # random bytes per draw: 128 bits mapped onto a slice, bias below 2^-48

# RFC 4648 base32 (what `base64.b32encode` emits) to Crockford's symbols, and to each
# symbol's Luhn mod 32 contribution undoubled and doubled (as `crypto.serials` computes it).
_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_N = len(ALPHABET)
_TO_CROCKFORD = bytes.maketrans(_RFC4648, ALPHABET.encode("ascii"))
_WEIGHT_1 = bytes.maketrans(_RFC4648, bytes(range(_N)))
_WEIGHT_2 = bytes.maketrans(_RFC4648, bytes((2 * v) // _N + (2 * v) % _N for v in range(_N)))


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
    """Serials (payload and check symbol) of payload values below 2^80, in the same order."""
    raw = base64.b32encode(b"".join([value.to_bytes(_BYTES, "big") for value in values]))
    payloads = raw.translate(_TO_CROCKFORD).decode("ascii")
    # Luhn weights by position: the doubled symbols of each 16-symbol payload sit at its
    # odd offsets, which are odd offsets of the whole run as well.
    weights = bytearray(raw.translate(_WEIGHT_1))
    weights[1::2] = raw[1::2].translate(_WEIGHT_2)
    step = PAYLOAD_LENGTH
    return [
        payloads[at : at + step] + ALPHABET[-sum(weights[at : at + step]) % _N]
        for at in range(0, step * len(values), step)
    ]
