"""Who may call what: every operation of the API document, with each role's key and none.

The table below is the rule (docs/security.md, "Who can do what"), written out by hand so
that a change to a route's role set, or a route nobody put in the table, fails here. An
admitted role gets anything but 401 and 403 (a minimal request may well be a 404 or 422:
what counts is that the key got past the role check); a role not admitted gets 403, a
missing or wrong key 401, both as problem+json, in the EPCIS binding's own problem type
under /epcis. Public operations answer without a key.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from fixtures.app import TenantKeys
from trace_api.app import create_app
from trace_api.settings import Settings

ROLES = ("admin", "operator", "compliance", "dealer")

# The role sets, spelt out (trace_api/roles.py names them).
ADMIN_ONLY = ("admin",)
ADMIN_OR_OPERATOR = ("admin", "operator")
AUDITORS = ("admin", "compliance")
BRAND_STAFF = ("admin", "operator", "compliance")
CUSTODIANS = ("admin", "operator", "dealer")
ADMIN_OR_DEALER = ("admin", "dealer")
DEALER_ONLY = ("dealer",)
ANY_ROLE = ROLES
PUBLIC = ()

MATRIX: dict[str, tuple[str, ...]] = {
    # -- public: consumers, verifiers, the resolver, health --------------------------------
    "GET /.well-known/gs1resolver": PUBLIC,
    "GET /01/{rest}": PUBLIC,
    "POST /01/{rest}": PUBLIC,
    "GET /report/01/{rest}": PUBLIC,
    "POST /report/01/{rest}": PUBLIC,
    "GET /media/{media_id}": PUBLIC,
    "GET /verify-proof": PUBLIC,
    "GET /v1/codes/{serial}/proof": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /v1/evidence/{evidence_id}/verify": PUBLIC,
    "POST /v1/evidence/verify": PUBLIC,
    "GET /v1/invoices/{number}/verify": PUBLIC,
    "GET /v1/evidence/{evidence_id}/certificate": ANY_ROLE,  # a dealer: proofs it is party to
    "GET /v1/evidence/{evidence_id}/certificate.pdf": ANY_ROLE,
    # -- tenancy -----------------------------------------------------------------------------
    "GET /v1/whoami": ANY_ROLE,
    "GET /v1/api-keys": ADMIN_ONLY,
    "POST /v1/api-keys": ADMIN_ONLY,
    "GET /v1/api-keys/{key_id}": ADMIN_ONLY,
    "DELETE /v1/api-keys/{key_id}": ADMIN_ONLY,
    "GET /v1/organisations": ANY_ROLE,
    "POST /v1/organisations": ADMIN_ONLY,
    "GET /v1/organisations/{organisation_id}": ANY_ROLE,
    "GET /v1/data-keys": ADMIN_ONLY,
    "POST /v1/data-keys": ADMIN_ONLY,
    "POST /v1/data-keys/{key_id}/shred": ADMIN_ONLY,
    # -- branding --------------------------------------------------------------------------
    "GET /v1/branding": ANY_ROLE,
    "PUT /v1/branding": ADMIN_ONLY,
    "PUT /v1/branding/logo": ADMIN_ONLY,
    "DELETE /v1/branding/logo": ADMIN_ONLY,
    "PUT /v1/products/{product}/image": ADMIN_OR_OPERATOR,
    "DELETE /v1/products/{product}/image": ADMIN_OR_OPERATOR,
    # -- codes -------------------------------------------------------------------------------
    "GET /v1/products": ANY_ROLE,
    "POST /v1/products": ADMIN_OR_OPERATOR,
    "GET /v1/products/{product_id}": ANY_ROLE,
    "PATCH /v1/products/{product_id}": ADMIN_OR_OPERATOR,
    "GET /v1/batches": ANY_ROLE,
    "POST /v1/batches": ADMIN_OR_OPERATOR,
    "GET /v1/batches/{batch_id}": ANY_ROLE,
    "POST /v1/batches/{batch_id}/recall": ADMIN_OR_OPERATOR,
    "POST /v1/batches/{batch_id}/codes": ADMIN_OR_OPERATOR,
    "GET /v1/batches/{batch_id}/labels.csv": ADMIN_OR_OPERATOR,
    "GET /v1/batches/{batch_id}/labels.pdf": ADMIN_OR_OPERATOR,
    "GET /v1/code-issuances/{issuance_id}": ANY_ROLE,
    "GET /v1/code-issuances/{issuance_id}/pins.csv": ADMIN_OR_OPERATOR,
    "GET /v1/codes/{serial}": ANY_ROLE,
    "POST /v1/codes/{serial}/recall": ADMIN_OR_OPERATOR,
    "GET /v1/codes/{serial}/qr.png": ANY_ROLE,
    "GET /v1/codes/{serial}/qr.svg": ANY_ROLE,
    # -- scan records, clone flags and consumer reports --------------------------------------
    "GET /v1/codes/{serial}/scans/verify": AUDITORS,
    "GET /v1/scans/verify": AUDITORS,
    "GET /v1/codes/{serial}/flags": BRAND_STAFF,
    "POST /v1/codes/{serial}/flags/review": BRAND_STAFF,
    "GET /v1/consumer-reports": BRAND_STAFF,
    "POST /v1/consumer-reports/{report_id}/status": BRAND_STAFF,
    # -- anchoring and the audit log -------------------------------------------------------
    "GET /v1/anchor-jobs": BRAND_STAFF,
    "GET /v1/anchor-jobs/{job_id}": BRAND_STAFF,
    "GET /v1/audit/checkpoints": AUDITORS,
    "POST /v1/audit/checkpoints": AUDITORS,
    "GET /v1/audit/checkpoints/{size}": AUDITORS,
    "POST /v1/audit/checkpoints/{size}/cosignatures": AUDITORS,
    "GET /v1/audit/entries/{seq}/proof": ANY_ROLE,  # a dealer's: of its own goods only
    "GET /v1/audit/integrity": AUDITORS,
    "GET /v1/audit/witnesses": AUDITORS,
    "POST /v1/audit/witnesses": ADMIN_ONLY,
    "POST /v1/audit/exports": AUDITORS,
    "GET /v1/audit/exports/{export_id}": AUDITORS,
    "GET /v1/audit/exports/{export_id}/bundle": AUDITORS,
    # -- channels: configuration and allocations ----------------------------------------------
    "PATCH /v1/organisations/{organisation_id}": ADMIN_ONLY,
    "GET /v1/organisations/{organisation_id}/territories": ANY_ROLE,  # a dealer: its own
    "PUT /v1/organisations/{organisation_id}/territories": ADMIN_ONLY,
    "GET /v1/organisations/{organisation_id}/geofences": ANY_ROLE,
    "POST /v1/organisations/{organisation_id}/geofences": ADMIN_ONLY,
    "DELETE /v1/organisations/{organisation_id}/geofences/{geofence_id}": ADMIN_ONLY,
    "GET /v1/organisations/{organisation_id}/product-scopes": ANY_ROLE,
    "PUT /v1/organisations/{organisation_id}/product-scopes": ADMIN_ONLY,
    "GET /v1/channel/tree": BRAND_STAFF,
    "GET /v1/channel/cross-edges": BRAND_STAFF,
    "POST /v1/channel/cross-edges": ADMIN_ONLY,
    "DELETE /v1/channel/cross-edges/{edge_id}": ADMIN_ONLY,
    "GET /v1/channel/locations": BRAND_STAFF,
    "PUT /v1/channel/locations": ADMIN_ONLY,
    "GET /v1/allocations": ANY_ROLE,
    "POST /v1/allocations": ADMIN_OR_OPERATOR,
    "GET /v1/allocations/{allocation_id}": ANY_ROLE,
    # -- contract proofs: a dealer reads, signs and keys for its organisation's party -------
    "POST /v1/evidence": BRAND_STAFF,
    "GET /v1/evidence": ANY_ROLE,
    "GET /v1/evidence/{evidence_id}": ANY_ROLE,
    "POST /v1/evidence/{evidence_id}/signatures": ANY_ROLE,
    "GET /v1/evidence/{evidence_id}/document": ANY_ROLE,
    "GET /v1/evidence/parties": ANY_ROLE,
    "POST /v1/evidence/parties": BRAND_STAFF,
    "POST /v1/evidence/parties/{party_id}/keys": ADMIN_OR_DEALER,
    "PUT /v1/organisations/{organisation_id}/invoice-profile": ADMIN_ONLY,
    "GET /v1/organisations/{organisation_id}/invoice-profile": BRAND_STAFF,
    "POST /v1/invoices": ADMIN_OR_OPERATOR,
    "GET /v1/invoices": ANY_ROLE,  # a dealer: invoices its organisation bought on
    "GET /v1/invoices/{number}": ANY_ROLE,
    "GET /v1/invoices/{number}/xml": ANY_ROLE,
    "GET /v1/invoices/{number}/pdf": ANY_ROLE,
    "GET /v1/invoice-periods/{period}.csv": BRAND_STAFF,
    "PUT /v1/products/{product_id}/invoice-item": ADMIN_OR_OPERATOR,
    "PUT /v1/products/{product_id}/prices/{channel}": ADMIN_OR_OPERATOR,
    "POST /v1/invoices/drafts": ADMIN_OR_OPERATOR,
    "POST /v1/invoices/{number}/red": ADMIN_OR_OPERATOR,
    "POST /v1/invoices/{number}/accept": DEALER_ONLY,  # the buyer's organisation
    "POST /v1/invoices/{number}/red-confirmations": ADMIN_OR_OPERATOR,
    "GET /v1/invoices/{number}/red-confirmations": ANY_ROLE,
    "POST /v1/red-confirmations/{confirmation_id}/confirm": DEALER_ONLY,
    "POST /v1/red-confirmations/{confirmation_id}/refuse": DEALER_ONLY,
    "POST /v1/red-confirmations/{confirmation_id}/withdraw": ADMIN_OR_OPERATOR,
    "POST /v1/evidence/parties/{party_id}/keys/{key_id}/revoke": ADMIN_OR_DEALER,
    # -- movements and alerts ----------------------------------------------------------------
    "POST /v1/scans/{action}": CUSTODIANS,
    "GET /v1/items/{code}/state": ANY_ROLE,
    "GET /v1/items/{code}/provenance": ANY_ROLE,
    "GET /v1/alerts": ANY_ROLE,  # a dealer: the alerts it is party to
    "GET /v1/alerts/{alert_id}": ANY_ROLE,
    "POST /v1/alerts/{alert_id}/status": BRAND_STAFF,
    # -- EPCIS: parties under /v1, the REST binding under /epcis ----------------------------
    "GET /v1/epcis/parties": ANY_ROLE,
    "POST /v1/epcis/parties": ADMIN_ONLY,
    "GET /epcis/": ANY_ROLE,
    "OPTIONS /epcis/": ANY_ROLE,
    "DELETE /epcis/nextPageToken/{token}": ANY_ROLE,
    "GET /epcis/capture": ANY_ROLE,
    "OPTIONS /epcis/capture": ANY_ROLE,
    "POST /epcis/capture": CUSTODIANS,
    "GET /epcis/capture/{capture_id}": ANY_ROLE,
    "OPTIONS /epcis/capture/{capture_id}": ANY_ROLE,
    "GET /epcis/events": ANY_ROLE,
    "OPTIONS /epcis/events": ANY_ROLE,
    "POST /epcis/events": CUSTODIANS,
    "GET /epcis/events/{event_id}": ANY_ROLE,
    "OPTIONS /epcis/events/{event_id}": ANY_ROLE,
    **{
        f"{method} /epcis/{resource}{tail}": ANY_ROLE
        for resource in (
            "bizLocations",
            "bizSteps",
            "dispositions",
            "epcs",
            "eventTypes",
            "readPoints",
        )
        for tail in ("", "/{value}", "/{value}/events")
        for method in ("GET", "OPTIONS")
    },
    "GET /epcis/queries": ANY_ROLE,
    "OPTIONS /epcis/queries": ANY_ROLE,
    "POST /epcis/queries": ANY_ROLE,
    "GET /epcis/queries/{name}": ANY_ROLE,
    "OPTIONS /epcis/queries/{name}": ANY_ROLE,
    "DELETE /epcis/queries/{name}": ANY_ROLE,  # others than admin, operator: their own
    "GET /epcis/queries/{name}/events": ANY_ROLE,
    "OPTIONS /epcis/queries/{name}/events": ANY_ROLE,
    "GET /epcis/queries/{name}/subscriptions": ANY_ROLE,
    "OPTIONS /epcis/queries/{name}/subscriptions": ANY_ROLE,
    "POST /epcis/queries/{name}/subscriptions": ADMIN_OR_OPERATOR,
    "GET /epcis/queries/{name}/subscriptions/{subscription_id}": ANY_ROLE,
    "OPTIONS /epcis/queries/{name}/subscriptions/{subscription_id}": ANY_ROLE,
    "DELETE /epcis/queries/{name}/subscriptions/{subscription_id}": ANY_ROLE,  # ditto
}

_INTEGER = "999999"
_NOWHERE = "no-such-thing"
_ITEM_LINK = "09506000134352/10/LOT1/21/NOSUCHSERIAL"


def _operations(app: FastAPI) -> dict[str, dict[str, Any]]:
    """Each operation of the app's OpenAPI document, as 'METHOD /path', with its spec."""
    return {
        f"{method.upper()} {path}": spec
        for path, item in app.openapi()["paths"].items()
        for method, spec in item.items()
    }


def _url(operation: str, spec: dict[str, Any], dealer_org: str) -> str:
    """The operation's path with minimal arguments: ids that exist nowhere, but the
    tenant's dealer organisation, whose own configuration a dealer may read."""
    integers = {
        p["name"]
        for p in spec.get("parameters", [])
        if p["in"] == "path" and p.get("schema", {}).get("type") == "integer"
    }

    def argument(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "organisation_id":
            return dealer_org
        if name == "rest":
            return _ITEM_LINK
        if name == "action":
            return "ship"
        return _INTEGER if name in integers else _NOWHERE

    return re.sub(r"\{(\w+)\}", argument, operation.split(" ", 1)[1])


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    # Every operation is asked with a wrong key: a budget that big keeps those 401, not 429.
    return create_app(settings.model_copy(update={"auth_failure_burst": 100_000}), engine=engine)


def test_every_operation_of_the_document_is_in_the_table(app: FastAPI) -> None:
    documented = set(_operations(app))
    assert sorted(documented - set(MATRIX)) == [], "operations the table does not know"
    assert sorted(set(MATRIX) - documented) == [], "operations the document no longer has"


def _refusal_type(path: str, status: int) -> str:
    if path.startswith("/epcis/"):
        return "epcisException:SecurityException"
    return "/problems/unauthenticated" if status == 401 else "/problems/forbidden"


def _disagreements(
    client: TestClient, tenant: TenantKeys, operation: str, spec: dict[str, Any]
) -> list[str]:
    """How the answers to one operation differ from the table."""
    method = operation.split(" ", 1)[0]
    url = _url(operation, spec, tenant.dealer_org_id)
    admitted = MATRIX[operation]
    if admitted == PUBLIC:
        status = client.request(method, url).status_code
        return [f"{operation}: public, but {status} without a key"] if status in (401, 403) else []
    wrong = {"Authorization": f"Bearer {tenant.keys['admin'][:-4]}XXXX"}
    asked = [("no key", {}, 401), ("a wrong key", wrong, 401)] + [
        (role, tenant.auth(role), None if role in admitted else 403) for role in ROLES
    ]
    found = []
    for who, headers, expected in asked:
        response = client.request(method, url, headers=headers)
        status = response.status_code
        if expected is None:
            if status in (401, 403):
                found.append(f"{operation}: {who} is admitted, but got {status}")
        elif status != expected:
            found.append(f"{operation}: {who} should get {expected}, got {status}")
        elif (kind := response.json().get("type")) != _refusal_type(url, status):
            found.append(f"{operation}: {who}'s {status} is of type {kind}")
    return found


def test_each_operation_admits_exactly_its_roles(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    operations = _operations(app)
    disagreements = [
        line
        for operation in sorted(set(operations) & set(MATRIX))
        for line in _disagreements(client, tenant, operation, operations[operation])
    ]
    assert not disagreements, "\n".join(disagreements)


def test_another_tenants_admin_key_is_not_a_key_here(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    """Roles admit within a tenant: another tenant's admin finds nothing of this one's."""
    url = f"/v1/organisations/{tenant.dealer_org_id}"
    assert client.get(url, headers=tenant.auth("dealer")).status_code == 200
    assert client.get(url, headers=other_tenant.auth("admin")).status_code == 404
