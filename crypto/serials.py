"""Per-item serial numbers: 80 random bits in Crockford base32, plus one check character.

A serial is 17 characters: 16 symbols of Crockford's base32 alphabet
(``0123456789ABCDEFGHJKMNPQRSTVWXYZ``, 5 bits each, 80 bits from the OS
CSPRNG) followed by a check symbol from the same alphabet. Seventeen
characters fit GS1 AI 21 (at most 20), and every character is in GS1's
AI-encodable set 82 and is URI-safe, so a serial goes into a GS1 Digital
Link as it is.

Why Luhn mod 32 and not Crockford's own check symbol: Crockford's mod-37
check adds the symbols ``* ~ $ = U``, and ``~`` and ``$`` are not allowed in
AI 21. Luhn mod N (here N = 32, over the same alphabet) keeps the check
inside the alphabet. Reading from the right, the check symbol has weight 1
and the payload symbols alternately weight 2 and 1; a doubled value v
contributes ``2v // 32 + 2v % 32``. For even N that map is a permutation of
0..31, so changing any one symbol always changes the sum mod 32: every
single-character substitution is caught. Swapping two adjacent symbols is
caught unless the pair is ``0``/``Z`` (values 0 and 31), the mod-32 twin of
Luhn's 09/90 blind spot.

Reading serials back follows Crockford's decoding rules: case does not
matter, ``I`` and ``L`` read as ``1``, ``O`` reads as ``0``, hyphens are
ignored.
"""

from __future__ import annotations

import base64
import os

from crypto.errors import InvalidSerial

__all__ = [
    "ALPHABET",
    "PAYLOAD_LENGTH",
    "SERIAL_LENGTH",
    "check_character",
    "new_serial",
    "new_serials",
    "normalise_serial",
    "validate_serial",
]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAYLOAD_LENGTH = 16  # 16 symbols x 5 bits = 80 random bits
SERIAL_LENGTH = PAYLOAD_LENGTH + 1
_RANDOM_BYTES = PAYLOAD_LENGTH * 5 // 8  # 10 bytes encode to exactly 16 base32 symbols
_N = len(ALPHABET)

_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}


def _doubled(value: int) -> int:
    return (2 * value) // _N + (2 * value) % _N


# RFC 4648 base32 (what `base64.b32encode` emits) maps 5-bit groups to these symbols.
_RFC4648 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_CROCKFORD = bytes.maketrans(_RFC4648, ALPHABET.encode("ascii"))
# Byte tables from an RFC 4648 symbol straight to its Luhn contribution, undoubled and doubled.
_WEIGHT_1 = bytes.maketrans(_RFC4648, bytes(range(_N)))
_WEIGHT_2 = bytes.maketrans(_RFC4648, bytes(_doubled(v) for v in range(_N)))

_NORMALISE = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None})


def _luhn_sum(payload: str) -> int:
    """Luhn mod 32 sum of a payload as if a check symbol followed it (its last symbol doubled)."""
    total = 0
    for position, symbol in enumerate(reversed(payload)):
        value = _VALUE[symbol]
        total += _doubled(value) if position % 2 == 0 else value
    return total % _N


def check_character(payload: str) -> str:
    """Return the Luhn mod 32 check character for a payload of Crockford symbols."""
    return ALPHABET[-_luhn_sum(payload) % _N]


def new_serials(n: int) -> list[str]:
    """Return `n` new serials, with the randomness for all of them read in one `os.urandom` call."""
    if n < 0:
        raise ValueError("the number of serials cannot be negative")
    raw = base64.b32encode(os.urandom(_RANDOM_BYTES * n))  # 16 RFC 4648 symbols per serial
    payloads = raw.translate(_TO_CROCKFORD).decode("ascii")
    # Luhn weights by position: each payload has 16 symbols, so the doubled
    # symbols (odd offsets, counting from the left) sit at odd offsets of
    # the whole batch too.
    weights = bytearray(raw.translate(_WEIGHT_1))
    weights[1::2] = raw[1::2].translate(_WEIGHT_2)
    step = PAYLOAD_LENGTH
    return [
        payloads[at : at + step] + ALPHABET[-sum(weights[at : at + step]) % _N]
        for at in range(0, step * n, step)
    ]


def new_serial() -> str:
    """Return one new serial (17 characters, 80 random bits)."""
    return new_serials(1)[0]


def normalise_serial(text: str) -> str:
    """Apply Crockford's reading rules: uppercase, I and L to 1, O to 0, hyphens dropped."""
    return text.upper().translate(_NORMALISE)


def validate_serial(text: str) -> str:
    """Return the normalised serial, or raise `InvalidSerial` saying what is wrong."""
    if not text.isascii():
        # Checked before case folding, which maps some non-ASCII letters (such as "ſ") to ASCII.
        position = next(i for i, symbol in enumerate(text, start=1) if not symbol.isascii())
        raise InvalidSerial(f"character {position} ({text[position - 1]!r}) is not ASCII")
    serial = normalise_serial(text)
    if len(serial) != SERIAL_LENGTH:
        raise InvalidSerial(
            f"a serial has {SERIAL_LENGTH} characters (hyphens aside), got {len(serial)}"
        )
    for position, symbol in enumerate(serial, start=1):
        if symbol not in _VALUE:
            raise InvalidSerial(
                f"character {position} ({symbol!r}) is not in the Crockford base32 alphabet"
            )
    if check_character(serial[:-1]) != serial[-1]:
        raise InvalidSerial("the check character does not match: the serial was mistyped")
    return serial
