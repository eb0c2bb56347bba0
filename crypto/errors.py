"""Typed errors raised by the `crypto` package.

Every error subclasses `CryptoError`, so the application can map the whole
family to problem+json in one place. Errors about malformed *input* (a key of
the wrong length, a mistyped serial, an index past the end of a tree) also
subclass `ValueError`, so validators that expect `ValueError` (pydantic's, for
one) turn them into validation errors without extra glue.
"""

from __future__ import annotations

__all__ = [
    "CryptoError",
    "DecryptionFailed",
    "InvalidKey",
    "InvalidSerial",
    "InvalidSignature",
    "InvalidUserId",
    "KeyShredded",
    "MalformedCiphertext",
    "MalformedHash",
    "NoActiveKey",
    "OutOfRange",
    "UnknownKey",
    "UnsupportedHash",
]


class CryptoError(Exception):
    """Base class of every error raised by `crypto`."""


class InvalidKey(CryptoError, ValueError):
    """Key material of the wrong type, length or range, or a point not on the curve."""


class DecryptionFailed(CryptoError):
    """A ciphertext did not authenticate: wrong key, tampered bytes or associated data."""


class MalformedCiphertext(DecryptionFailed):
    """A ciphertext is truncated or its header cannot be parsed."""


class KeyShredded(CryptoError):
    """The data key of a ciphertext was destroyed on purpose; the data is gone for good."""


class UnknownKey(CryptoError):
    """A ciphertext names a key id that the keyring has never held."""


class NoActiveKey(CryptoError):
    """The keyring has no active key to seal new data with."""


class InvalidSignature(CryptoError):
    """A signature is malformed or does not verify for this key, message and user id."""


class InvalidUserId(CryptoError, ValueError):
    """An SM2 user id too long to encode (8192 bytes or more)."""


class InvalidSerial(CryptoError, ValueError):
    """A serial has the wrong length, a character outside the alphabet, or a bad check character."""


class OutOfRange(CryptoError, ValueError):
    """A leaf index or tree size lies outside the tree."""


class MalformedHash(CryptoError, ValueError):
    """A hash value (leaf hash, proof element) of the wrong length."""


class UnsupportedHash(CryptoError, ValueError):
    """A hash algorithm name that the Merkle code does not support."""
