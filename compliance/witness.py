"""Independent witnesses that cosign checkpoints with BLS (BLS12-381, proof-of-possession scheme).

A witness registers its 48-byte public key with a proof of possession (PoP),
then signs the checkpoint bodies it has checked for consistency. Signatures
over the same body aggregate into one 96-byte signature, checked with
FastAggregateVerify against the registered keys.

FastAggregateVerify is only sound over keys whose PoP was checked: otherwise a
"rogue" key chosen as ``pk_evil - pk_honest`` makes an aggregate that seems
to include an honest witness who never signed. `verify_cosignatures`
therefore takes `RegisteredWitness` records (key and PoP) and checks every
PoP itself; results are cached per key, since each check costs a pairing.

Cost, in pure-Python py_ecc on this machine: a PoP check or an aggregate
verification about 0.3-0.4 s, a signature about 0.1 s. Hence bundles carry
cosignatures only for the latest checkpoint and the anchored ones.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from eth_typing import BLSPubkey, BLSSignature
from py_ecc.bls.ciphersuites import G2ProofOfPossession as _Bls
from py_ecc.optimized_bls12_381.optimized_curve import curve_order as _CURVE_ORDER

from compliance.errors import InvalidWitnessKey

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "RegisteredWitness",
    "WitnessKey",
    "aggregate",
    "cosign",
    "verify_cosignatures",
    "verify_witness_registration",
]

PUBLIC_KEY_SIZE = 48
SIGNATURE_SIZE = 96


class WitnessKey:
    """A witness's BLS secret key, with its public key and proof of possession."""

    __slots__ = ("_public_key", "_secret")

    def __init__(self, secret: int) -> None:
        if isinstance(secret, bool) or not isinstance(secret, int) or not 0 < secret < _CURVE_ORDER:
            raise InvalidWitnessKey("a BLS secret key is an integer in [1, r-1]")
        self._secret = secret
        self._public_key = bytes(_Bls.SkToPk(secret))

    @classmethod
    def generate(cls) -> WitnessKey:
        """A new key, derived (KeyGen) from 32 bytes of the OS CSPRNG."""
        return cls(_Bls.KeyGen(secrets.token_bytes(32)))

    @classmethod
    def from_bytes(cls, data: bytes) -> WitnessKey:
        """Load a key from its 32-byte big-endian encoding."""
        if not isinstance(data, bytes) or len(data) != 32:
            raise InvalidWitnessKey("a BLS secret key is 32 bytes")
        return cls(int.from_bytes(data, "big"))

    def to_bytes(self) -> bytes:
        """The 32-byte big-endian secret. Keep it secret."""
        return self._secret.to_bytes(32, "big")

    @property
    def public_key(self) -> bytes:
        """The 48-byte compressed G1 public key."""
        return self._public_key

    def proof_of_possession(self) -> bytes:
        """The 96-byte PoP (PopProve) to register the public key with."""
        return bytes(_Bls.PopProve(self._secret))

    def __repr__(self) -> str:
        return f"WitnessKey(public_key={self._public_key.hex()})"


@dataclass(frozen=True)
class RegisteredWitness:
    """A witness as registered with the service: id, display name, public key and its PoP."""

    id: str
    name: str
    public_key: bytes
    pop: bytes


def cosign(private: WitnessKey, checkpoint_body: bytes) -> bytes:
    """The witness's 96-byte BLS signature over a checkpoint body."""
    return bytes(_Bls.Sign(private._secret, bytes(checkpoint_body)))


def aggregate(signatures: Sequence[bytes]) -> bytes:
    """Aggregate cosignatures of one body into one 96-byte signature.

    Raises InvalidWitnessKey for no signature or a malformed one.
    """
    if not signatures:
        raise InvalidWitnessKey("nothing to aggregate")
    try:
        return bytes(_Bls.Aggregate([BLSSignature(bytes(s)) for s in signatures]))
    except Exception as exc:  # py_ecc raises ValidationError, ValueError or AssertionError
        raise InvalidWitnessKey(f"cannot aggregate: {exc}") from exc


@lru_cache(maxsize=4096)
def _pop_holds(public_key: bytes, pop: bytes) -> bool:
    return bool(_Bls.PopVerify(BLSPubkey(public_key), BLSSignature(pop)))


@lru_cache(maxsize=256)
def _aggregate_holds(public_keys: tuple[bytes, ...], message: bytes, signature: bytes) -> bool:
    return bool(
        _Bls.FastAggregateVerify(
            [BLSPubkey(key) for key in public_keys], message, BLSSignature(signature)
        )
    )


def _well_formed(value: object, size: int) -> bool:
    return isinstance(value, bytes) and len(value) == size


def verify_witness_registration(public_key: bytes, pop: bytes) -> bool:
    """Whether `pop` proves possession of `public_key` (PopVerify); cached per key and PoP."""
    if not _well_formed(public_key, PUBLIC_KEY_SIZE) or not _well_formed(pop, SIGNATURE_SIZE):
        return False
    return _pop_holds(public_key, pop)


def verify_cosignatures(
    witnesses: Sequence[RegisteredWitness], checkpoint_body: bytes, aggregate_signature: bytes
) -> bool:
    """Whether every one of `witnesses` signed `checkpoint_body`, as one aggregate signature.

    False for no witnesses, a key listed twice, a key whose PoP does not
    verify (a possible rogue key), or a signature that does not verify.
    Costs one pairing check (~0.3-0.4 s in py_ecc) plus one per PoP not yet seen.
    """
    keys = tuple(w.public_key for w in witnesses)
    if not keys or len(set(keys)) != len(keys):
        return False
    if not _well_formed(aggregate_signature, SIGNATURE_SIZE):
        return False
    if not all(verify_witness_registration(w.public_key, w.pop) for w in witnesses):
        return False
    return _aggregate_holds(keys, bytes(checkpoint_body), aggregate_signature)
