"""Witness cosignatures (BLS12-381, PoP scheme), including the rogue-key attack PoPs prevent.

py_ecc is slow (~0.1 s a signature, ~0.3 s a verification), so these tests
share the session's two witnesses and sign as little as they can.
"""

from __future__ import annotations

import pytest
from compliance_logs import Witnesses
from py_ecc.bls.ciphersuites import G2ProofOfPossession as Bls
from py_ecc.bls.g2_primitives import G1_to_pubkey, pubkey_to_G1
from py_ecc.optimized_bls12_381.optimized_curve import G1, add, multiply, neg

from compliance.errors import InvalidWitnessKey
from compliance.witness import (
    RegisteredWitness,
    WitnessKey,
    aggregate,
    cosign,
    verify_cosignatures,
    verify_witness_registration,
)

BODY = b'{"at":"2026-11-25T08:30:00.000000Z","log":"l","prev":null,"root":"00","size":1}'


@pytest.fixture(scope="module")
def signed(witnesses: Witnesses) -> dict[str, bytes]:
    return {wid: cosign(key, BODY) for wid, key in witnesses.keys.items()}


def test_keys_have_the_standard_sizes(witnesses: Witnesses) -> None:
    for witness in witnesses.registered:
        assert len(witness.public_key) == 48
        assert len(witness.pop) == 96
        assert verify_witness_registration(witness.public_key, witness.pop)


def test_key_round_trips_through_bytes(witnesses: Witnesses) -> None:
    key = witnesses.keys["w-alpha"]
    assert WitnessKey.from_bytes(key.to_bytes()).public_key == key.public_key
    with pytest.raises(InvalidWitnessKey):
        WitnessKey(0)
    with pytest.raises(InvalidWitnessKey):
        WitnessKey.from_bytes(b"\x00" * 31)


def test_a_pop_does_not_transfer_to_another_key(witnesses: Witnesses) -> None:
    alpha, beta = witnesses.registered
    assert not verify_witness_registration(alpha.public_key, beta.pop)
    assert not verify_witness_registration(alpha.public_key, alpha.pop[:-1])
    assert not verify_witness_registration(b"\x00" * 48, alpha.pop)


def test_aggregate_of_all_cosigners_verifies(
    witnesses: Witnesses, signed: dict[str, bytes]
) -> None:
    both = aggregate(list(signed.values()))
    assert len(both) == 96
    assert verify_cosignatures(witnesses.registered, BODY, both)
    assert verify_cosignatures(witnesses.registered[:1], BODY, signed["w-alpha"])


def test_aggregate_fails_for_another_body_or_a_missing_signer(
    witnesses: Witnesses, signed: dict[str, bytes]
) -> None:
    both = aggregate(list(signed.values()))
    assert not verify_cosignatures(witnesses.registered, BODY + b" ", both)
    assert not verify_cosignatures(witnesses.registered, BODY, signed["w-alpha"])
    assert not verify_cosignatures([], BODY, both)
    assert not verify_cosignatures(witnesses.registered * 2, BODY, both)  # a key twice
    assert not verify_cosignatures(witnesses.registered, BODY, both[:-1])


def test_aggregate_refuses_garbage() -> None:
    with pytest.raises(InvalidWitnessKey):
        aggregate([])
    with pytest.raises(InvalidWitnessKey):
        aggregate([b"\x01" * 96])


def test_a_rogue_key_without_pop_cannot_fake_an_honest_cosigner(witnesses: Witnesses) -> None:
    # The attacker publishes pk_rogue = sk_evil*G1 - pk_honest. Then pk_honest + pk_rogue
    # = sk_evil*G1, so the attacker alone signs "for both": the honest witness never signed.
    honest = witnesses.registered[0]
    sk_evil = 123456789
    rogue_point = add(multiply(G1, sk_evil), neg(pubkey_to_G1(honest.public_key)))
    rogue_key = G1_to_pubkey(rogue_point)
    forged = Bls.Sign(sk_evil, BODY)
    assert Bls.FastAggregateVerify([honest.public_key, rogue_key], BODY, forged)  # the attack

    rogue = RegisteredWitness(
        id="evil", name="Evil", public_key=rogue_key, pop=Bls.PopProve(sk_evil)
    )
    assert not verify_witness_registration(rogue.public_key, rogue.pop)
    assert not verify_cosignatures([honest, rogue], BODY, forged)
