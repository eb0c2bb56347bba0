"""The party registry: organisations and outsiders by USCC, their SM2 keys registered and
revoked, each change in the audit log, every refusal writing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as uscc_number
from submission_support import audit_data, new_uscc, written

from compliance.evidence.statement import key_fingerprint
from crypto import sm2
from fixtures.app import TenantKeys
from trace_api.errors import InvalidInput
from trace_api.evidence.parties import MAX_LIVE_KEYS, normal_uscc, parse_public_key

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _post(client: TestClient, tenant: TenantKeys, body: dict, role: str = "compliance") -> Any:
    return client.post("/v1/evidence/parties", json=body, headers=tenant.auth(role))


def test_an_outside_party_and_an_organisations_party_are_registered_once(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    code = new_uscc()
    outside = _post(client, tenant, {"name": " 杭州某贸易公司 ", "uscc": code.lower()})
    assert outside.status_code == 201, outside.text
    assert (outside.json()["name"], outside.json()["uscc"]) == ("杭州某贸易公司", code)
    org = _post(client, tenant, {"organisation_id": tenant.dealer_org_id})
    assert org.status_code == 201, org.text
    assert org.json()["organisation_id"] == tenant.dealer_org_id
    before = written(app)
    assert _post(client, tenant, {"name": "again", "uscc": code}).status_code == 409
    assert _post(client, tenant, {"organisation_id": tenant.dealer_org_id}).status_code == 409
    assert written(app) == before
    logged = audit_data(app, tenant.tenant_id, "evidence.party_registered")
    assert [d["party"] for d in logged] == [outside.json()["id"], org.json()["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "某公司", "uscc": "91330100000000001"},  # 17 characters
        {"name": "某公司", "uscc": "913301000000000010"},  # wrong check character
        {"name": "某公司"},
        {"uscc": "91330100000000001X"},
        {"name": "", "uscc": "91330100000000001X"},
        {"name": "a\u202eb", "uscc": "91330100000000001X"},  # a bidi override
        {"name": "\u2800", "uscc": "91330100000000001X"},  # a blank Braille pattern
        {"name": "\ufe0f", "uscc": "91330100000000001X"},  # a variation selector alone
        {"organisation_id": "no-such-organisation"},
        {"organisation_id": "x", "name": "both"},
        {"name": "x" * 201, "uscc": "91330100000000001X"},
        {"nickname": "unknown member"},
    ],
)
def test_a_bad_party_is_refused_and_writes_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys, body: dict
) -> None:
    before = written(app)
    response = _post(client, tenant, body)
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert written(app) == before


def test_another_tenants_organisation_cannot_be_a_party_here(
    app: FastAPI, client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    response = _post(client, tenant, {"organisation_id": other_tenant.dealer_org_id})
    assert response.status_code == 404, response.text


def test_keys_are_registered_listed_and_revoked_once(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    party = _post(client, tenant, {"name": "某公司", "uscc": new_uscc()}).json()["id"]
    public = sm2.PrivateKey.generate().public_key.hex()
    url = f"/v1/evidence/parties/{party}/keys"
    key = client.post(url, json={"public_key": public.upper()}, headers=tenant.auth("admin"))
    assert key.status_code == 201, key.text
    assert key.json()["public_key"] == public
    assert key.json()["fingerprint"] == key_fingerprint(public)
    before = written(app)
    again = client.post(url, json={"public_key": public}, headers=tenant.auth("admin"))
    assert again.status_code == 409
    assert written(app) == before
    revoke = f"{url}/{key.json()['id']}/revoke"
    first = client.post(revoke, headers=tenant.auth("admin"))
    assert first.status_code == 200 and first.json()["revoked_at"] is not None
    second = client.post(revoke, headers=tenant.auth("admin"))
    assert second.json()["revoked_at"] == first.json()["revoked_at"]
    assert client.post(f"{url}/no-such-key/revoke", headers=tenant.auth("admin")).status_code == 404
    [listed] = client.get("/v1/evidence/parties", headers=tenant.auth("compliance")).json()
    assert [k["revoked_at"] for k in listed["keys"]] == [first.json()["revoked_at"]]
    assert len(audit_data(app, tenant.tenant_id, "evidence.key_registered")) == 1
    [revoked] = audit_data(app, tenant.tenant_id, "evidence.key_revoked")
    assert revoked["fingerprint"] == key.json()["fingerprint"]


@pytest.mark.parametrize(
    "public_key",
    [
        "zz" * 65,  # not hex
        "05" + "11" * 64,  # not an uncompressed point
        "04" + "11" * 64,  # not on the curve
        "04" + "00" * 64,  # the point at infinity's coordinates
        "04" + "11" * 63,  # too short (the schema)
        sm2.PrivateKey(1).public_key.hex(),  # G: its private key is 1
        sm2.PrivateKey(1).public_key.hex()[:66]
        + f"{sm2._P - int(sm2.PrivateKey(1).public_key.hex()[66:], 16):064x}",  # -G
    ],
)
def test_a_key_that_is_no_sm2_point_is_refused(
    app: FastAPI, client: TestClient, tenant: TenantKeys, public_key: str
) -> None:
    party = _post(client, tenant, {"name": "某公司", "uscc": new_uscc()}).json()["id"]
    before = written(app)
    response = client.post(
        f"/v1/evidence/parties/{party}/keys",
        json={"public_key": public_key},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 422, response.text
    assert written(app) == before


def test_a_party_has_at_most_five_live_keys(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    party = _post(client, tenant, {"name": "某公司", "uscc": new_uscc()}).json()["id"]
    url = f"/v1/evidence/parties/{party}/keys"

    def register() -> Any:
        public = sm2.PrivateKey.generate().public_key.hex()
        return client.post(url, json={"public_key": public}, headers=tenant.auth("admin"))

    keys = [register() for _ in range(MAX_LIVE_KEYS)]
    assert [k.status_code for k in keys] == [201] * MAX_LIVE_KEYS
    before = written(app)
    sixth = register()
    assert sixth.status_code == 409, sixth.text
    assert "revoke one first" in sixth.json()["detail"]
    assert written(app) == before
    revoked = client.post(f"{url}/{keys[0].json()['id']}/revoke", headers=tenant.auth("admin"))
    assert revoked.status_code == 200
    assert register().status_code == 201


@pytest.mark.parametrize("role", ["operator", "compliance"])
def test_no_operator_or_compliance_key_gives_a_dealers_party_a_key(
    app: FastAPI, client: TestClient, tenant: TenantKeys, role: str
) -> None:
    party = _post(client, tenant, {"organisation_id": tenant.dealer_org_id}).json()["id"]
    url = f"/v1/evidence/parties/{party}/keys"
    own = client.post(
        url,
        json={"public_key": sm2.PrivateKey.generate().public_key.hex()},
        headers=tenant.auth("dealer"),
    )
    assert own.status_code == 201, own.text
    before = written(app)
    forged = client.post(
        url,
        json={"public_key": sm2.PrivateKey.generate().public_key.hex()},
        headers=tenant.auth(role),
    )
    assert forged.status_code == 403, forged.text
    revoke = client.post(f"{url}/{own.json()['id']}/revoke", headers=tenant.auth(role))
    assert revoke.status_code == 403, revoke.text
    assert written(app) == before


@given(st.text(alphabet=_USCC_ALPHABET, min_size=17, max_size=17), st.sampled_from(_USCC_ALPHABET))
def test_a_uscc_is_taken_exactly_when_its_check_character_is_right(body: str, last: str) -> None:
    code = body + last
    if uscc_number.is_valid(code):
        assert normal_uscc(code) == code
    else:
        with pytest.raises(InvalidInput):
            normal_uscc(code)


_POINTS = st.integers(1, 2**255).map(lambda d: sm2.PrivateKey(d).public_key.to_bytes())


@given(st.one_of(st.binary(min_size=65, max_size=65), _POINTS))
def test_random_bytes_are_a_key_only_when_they_are_a_point_on_the_curve(raw: bytes) -> None:
    try:
        sm2.PublicKey.from_bytes(raw)
    except Exception:
        with pytest.raises(InvalidInput):
            parse_public_key(raw.hex())
    else:
        if raw[1:33] == sm2.PrivateKey(1).public_key.to_bytes()[1:33]:  # ±G
            with pytest.raises(InvalidInput):
                parse_public_key(raw.hex())
        else:
            assert parse_public_key(raw.hex()) == raw.hex()
