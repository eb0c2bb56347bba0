"""The statement parties sign: its bytes pinned by a committed vector, read back strictly.

The vector (vectors/evidence_statement.json) fixes one statement's exact RFC 8785 bytes,
their SM3 (checked with gmssl as well as our SM3), a kept SM2 signature and the leaf.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from evidence_proofs import KEYS, REMOVE, make_statement, set_path, sign
from gmssl import sm3 as gmssl_sm3
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.credit_code import is_valid_credit_code
from compliance.errors import MalformedEvidence
from compliance.evidence.statement import (
    Party,
    Signature,
    key_fingerprint,
    leaf_bytes,
    leaf_hash,
    sign_statement,
    signature_from_json,
    signature_holds,
    statement_from_json,
)
from crypto import merkle, sm2
from crypto.errors import InvalidSignature
from crypto.sm3 import sm3

VECTOR = json.loads((Path(__file__).parent / "vectors" / "evidence_statement.json").read_text())


# --- the committed vector ---


def test_the_vector_statement_has_its_exact_canonical_bytes_and_sm3() -> None:
    statement = statement_from_json(VECTOR["statement"])
    canonical = statement.canonical_bytes()
    assert canonical == VECTOR["canonical"].encode("utf-8")
    assert sm3(canonical).hex() == VECTOR["canonical_sm3"]
    assert gmssl_sm3.sm3_hash(list(canonical)) == VECTOR["canonical_sm3"]
    assert statement.to_json() == VECTOR["statement"]


def test_the_vector_document_has_the_statements_digests() -> None:
    document = VECTOR["document"].encode("utf-8")
    assert len(document) == VECTOR["document_size"] == VECTOR["statement"]["size"]
    assert gmssl_sm3.sm3_hash(list(document)) == VECTOR["document_sm3"]
    assert VECTOR["statement"]["digests"] == {
        "sm3": VECTOR["document_sm3"],
        "sha256": VECTOR["document_sha256"],
    }


def test_the_vector_signature_verifies_and_its_leaf_is_stable() -> None:
    statement = statement_from_json(VECTOR["statement"])
    signature = signature_from_json(VECTOR["signature"], "signature")
    key = sm2.PrivateKey.from_bytes(bytes.fromhex(VECTOR["signer_private_key"]))
    assert signature.public_key == key.public_key.hex()
    assert signature_holds(signature.public_key, signature.signature, statement.canonical_bytes())
    assert leaf_bytes(statement, [signature]) == VECTOR["leaf_bytes"].encode("utf-8")
    expected = gmssl_sm3.sm3_hash(list(b"\x00" + VECTOR["leaf_bytes"].encode("utf-8")))
    assert leaf_hash(statement, [signature]).hex() == VECTOR["leaf_hash"] == expected


def test_the_signature_is_gbt_32918_with_the_default_user_id() -> None:
    statement = statement_from_json(VECTOR["statement"])
    key = sm2.PublicKey.from_bytes(bytes.fromhex(VECTOR["signature"]["key"]))
    signature = bytes.fromhex(VECTOR["signature"]["signature"])
    key.verify(signature, statement.canonical_bytes(), b"1234567812345678")
    with pytest.raises(InvalidSignature):
        key.verify(signature, statement.canonical_bytes(), b"another user id")


def test_key_order_and_spacing_of_the_input_do_not_change_the_bytes() -> None:
    shuffled = json.loads(json.dumps(VECTOR["statement"], sort_keys=True, indent=3))
    reordered = dict(reversed(list(shuffled.items())))
    assert statement_from_json(reordered).canonical_bytes() == VECTOR["canonical"].encode()


# --- statements round-trip ---

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=80, deadline=None)
@given(title=_text, names=st.lists(_text, min_size=1, max_size=4), size=st.integers(0, 2**53 - 1))
def test_any_statement_reads_back_to_the_same_bytes(
    title: str, names: list[str], size: int
) -> None:
    parties = tuple(Party(f"p{n}", name, None, None, n % 2 == 0) for n, name in enumerate(names))
    statement = replace(make_statement(parties=parties, title=title), size=size)
    again = statement_from_json(json.loads(statement.canonical_bytes()))
    assert again == statement
    assert again.canonical_bytes() == statement.canonical_bytes()


# --- malformed statements: refused, naming the field ---


def _with(path: str, value: Any) -> dict[str, Any]:
    """The vector's statement with ``path`` ("a.b.0.c") set to ``value`` (or REMOVE-d)."""
    document = copy.deepcopy(VECTOR["statement"])
    set_path(document, path, value)
    return document


DIGEST = VECTOR["document_sm3"]

MALFORMED = [
    ("v", 2, "version 1"),
    ("v", True, "version 1"),
    ("v", 1.0, "version 1"),
    ("type", "tracechain/evidence-certificate", "version 1"),
    ("tenant", "", "statement.tenant"),
    ("tenant", 7, "statement.tenant"),
    ("id", None, "statement.id"),
    ("id", REMOVE, "missing ['id']"),
    ("extra", "x", "unexpected ['extra']"),
    ("title", "", "statement.title"),
    ("title", ["a"], "statement.title"),
    ("kind", "letter", "statement.kind"),
    ("digests", {}, "statement.digests"),
    ("digests", {"md5": DIGEST}, "statement.digests"),
    ("digests", [DIGEST], "statement.digests"),
    ("digests.sm3", DIGEST.upper(), "statement.digests.sm3"),
    ("digests.sm3", DIGEST[:-2], "statement.digests.sm3"),
    ("digests.sha256", None, "statement.digests.sha256"),
    ("size", -1, "statement.size"),
    ("size", 1.5, "statement.size"),
    ("size", True, "statement.size"),
    ("size", "60", "statement.size"),
    ("parties", {}, "statement.parties"),
    ("parties.0", "brand", "statement.parties[0] must be an object"),
    ("parties.0.required", REMOVE, "statement.parties[0]: missing ['required']"),
    ("parties.1.email", "a@b.c", "statement.parties[1]: missing [], unexpected ['email']"),
    ("parties.0.ref", "", "statement.parties[0].ref"),
    ("parties.1.name", 5, "statement.parties[1].name"),
    ("parties.0.uscc", "91310000MA1K4ABCDH", "statement.parties[0].uscc"),
    ("parties.0.uscc", "91310000ma1k4abcdg", "statement.parties[0].uscc"),
    ("parties.0.uscc", "", "statement.parties[0].uscc"),
    ("parties.0.organisation", "", "statement.parties[0].organisation"),
    ("parties.0.required", "yes", "statement.parties[0].required"),
    ("parties.1.ref", "brand", "name a party twice"),
    ("links", None, "statement.links"),
    ("links.0.type", "invoice", "statement.links[0].type"),
    ("links.0.id", "", "statement.links[0].id"),
    ("links.0", {"type": "batch"}, "statement.links[0]: missing ['id']"),
    ("created_at", "2026-12-06T08:30:00Z", "statement.created_at"),
    ("created_at", "2026-12-06T08:30:00.000000+08:00", "statement.created_at"),
    ("created_at", "2026-12-06 08:30:00.000000Z", "statement.created_at"),
    ("created_at", 1765009800, "statement.created_at"),
]


@pytest.mark.parametrize(("path", "value", "named"), MALFORMED, ids=lambda x: repr(x)[:40])
def test_each_malformed_field_is_refused_naming_it(path: str, value: Any, named: str) -> None:
    with pytest.raises(MalformedEvidence) as caught:
        statement_from_json(_with(path, value))
    assert named in str(caught.value)


@pytest.mark.parametrize("value", [None, [], "statement", 1])
def test_a_statement_that_is_no_object_is_refused(value: Any) -> None:
    with pytest.raises(MalformedEvidence, match="statement must be an object"):
        statement_from_json(value)


SIGNATURE_MALFORMED = [
    ("key", VECTOR["signature"]["key"].upper(), "sig.key must be lowercase hex"),
    ("key", "0x" + VECTOR["signature"]["key"], "sig.key must be lowercase hex"),
    ("signature", VECTOR["signature"]["signature"][:-1], "sig.signature must be lowercase hex"),
    ("signature", "", "sig.signature must be lowercase hex"),
    ("signed_at", "2026-12-06T08:31:05Z", "sig.signed_at"),
    ("party", "", "sig.party"),
    ("by", "me", "unexpected ['by']"),
]


@pytest.mark.parametrize(("name", "value", "named"), SIGNATURE_MALFORMED)
def test_each_malformed_signature_field_is_refused_naming_it(
    name: str, value: str, named: str
) -> None:
    with pytest.raises(MalformedEvidence) as caught:
        signature_from_json({**VECTOR["signature"], name: value}, "sig")
    assert named in str(caught.value)


# --- signatures ---


def test_a_signature_verifies_under_its_key_and_no_other() -> None:
    statement = make_statement()
    good = sign(statement, "brand")
    message = statement.canonical_bytes()
    assert signature_holds(good.public_key, good.signature, message)
    assert not signature_holds(KEYS["dealer"].public_key.hex(), good.signature, message)
    other = make_statement(title="another agreement")
    assert not signature_holds(good.public_key, good.signature, other.canonical_bytes())


def test_a_forged_signature_does_not_verify() -> None:
    message = make_statement().canonical_bytes()
    key = KEYS["brand"].public_key.hex()
    der = bytearray(bytes.fromhex(sign(make_statement(), "brand").signature))
    der[-1] ^= 0x01  # s off by one bit
    assert not signature_holds(key, der.hex(), message)
    # made by an attacker's key, presented under the party's key
    forged = sign_statement(sm2.PrivateKey.generate(), message)
    assert not signature_holds(key, forged.hex(), message)


@pytest.mark.parametrize(
    ("key", "signature"),
    [
        ("04" + "00" * 64, "3006020101020101"),  # not a point on the curve
        ("02" + "11" * 32, "3006020101020101"),  # compressed: not how keys travel
        ("", ""),
        ("zz", "zz"),
        (None, None),
    ],
)
def test_garbage_keys_and_signatures_are_false_not_errors(key: Any, signature: Any) -> None:
    assert not signature_holds(key or "", signature or "", b"message")


def test_a_key_is_named_by_the_sm3_of_its_65_bytes() -> None:
    key = KEYS["brand"].public_key
    assert len(key.to_bytes()) == 65
    assert key_fingerprint(key.hex()) == sm3(key.to_bytes()).hex()


# --- the leaf ---


def test_the_leaf_binds_each_signature_and_not_their_order() -> None:
    statement = make_statement()
    brand, dealer = sign(statement, "brand"), sign(statement, "dealer")
    leaf = leaf_hash(statement, [brand, dealer])
    assert leaf == leaf_hash(statement, [dealer, brand])
    assert leaf == merkle.leaf_hash(leaf_bytes(statement, [brand, dealer]), "sm3")
    later = Signature(brand.party, brand.public_key, brand.signature, dealer.signed_at)
    assert leaf_hash(statement, [later, dealer]) != leaf
    assert leaf_hash(statement, [brand]) != leaf
    assert leaf_hash(make_statement(title="other"), [brand, dealer]) != leaf


def test_unified_social_credit_codes_are_checked_with_their_check_digit() -> None:
    assert is_valid_credit_code("91310000MA1K4ABCDG")
    assert not is_valid_credit_code("91310000MA1K4ABCDH")  # check digit off
    assert not is_valid_credit_code("91310000MA1K4ABCD")  # 17 characters
    assert not is_valid_credit_code("91310000MA1K4ABCDG ")
