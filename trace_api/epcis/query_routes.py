"""HTTP routes for named queries and their webhook subscriptions (/epcis/queries), and
for registering the GLNs that stand for an organisation (/v1/epcis/parties)."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response, status

from trace_api.deps import SessionDep, SettingsDep
from trace_api.epcis import service, subscriptions
from trace_api.epcis.errors import EpcisValidationError
from trace_api.epcis.http import (
    Body,
    answer,
    discovery,
    epcis_router,
    events_page,
    json_body,
    listing,
    query_params,
    viewer,
)
from trace_api.epcis.schemas import PartyCreate, PartyOut
from trace_api.models import EpcisQuery, EpcisSubscription
from trace_api.roles import ADMIN_OR_OPERATOR, AdminOnly, AdminOrOperator, AnyRole

router = epcis_router("/epcis/queries")
parties_router = APIRouter(prefix="/v1/epcis", tags=["epcis"])

# The WebSocket subscription controls of GET /queries/{name}/events; we serve the results
# page (subscriptions are webhooks here), so these do not filter.
_SUBSCRIPTION_CONTROLS = frozenset(
    {
        "stream",
        "second",
        "minute",
        "hour",
        "dayOfMonth",
        "month",
        "dayOfWeek",
        "reportIfEmpty",
        "initialRecordTime",
    }
)


@router.options("")
def discover_queries(principal: AnyRole) -> Response:
    return discovery("OPTIONS, GET, POST")


def _named_query(name: str, principal: AnyRole, session: SessionDep) -> EpcisQuery:
    return service.get_query(session=session, tenant_id=principal.tenant_id, name=name)


NamedQuery = Annotated[EpcisQuery, Depends(_named_query)]


def _subscription(
    subscription_id: str, record: NamedQuery, session: SessionDep
) -> EpcisSubscription:
    return subscriptions.get(session=session, query=record, subscription_id=subscription_id)


Subscription = Annotated[EpcisSubscription, Depends(_subscription)]


@router.get("")
def queries(
    request: Request, principal: AnyRole, session: SessionDep, settings: SettingsDep
) -> Response:
    return listing(request, principal, session, settings, service.list_queries, service.query_out)


@router.post("")
def create_query(
    request: Request, body: Body, principal: AnyRole, session: SessionDep, settings: SettingsDep
) -> Response:
    document = json_body(request, body, settings)
    if not isinstance(document, dict):
        raise EpcisValidationError('send {"name": ..., "query": {...}}')
    record = service.create_query(
        session=session,
        tenant_id=principal.tenant_id,
        name=document.get("name"),  # type: ignore[arg-type]  # checked by the service
        definition=document.get("query"),
        actor=principal.key_id,
    )
    return answer(None, 201, {"Location": f"/epcis/queries/{quote(record.name, safe='')}"})


@router.get("/{name}")
def query(record: NamedQuery) -> Response:
    return answer([service.query_out(record)])  # GS1's schema: an array of one definition


@router.options("/{name}")
def discover_query(record: NamedQuery) -> Response:
    return discovery("OPTIONS, GET, DELETE")


@router.delete("/{name}")
def delete_query(
    name: str, record: NamedQuery, principal: AnyRole, session: SessionDep
) -> Response:
    service.delete_query(
        session=session,
        tenant_id=principal.tenant_id,
        name=name,
        actor=principal.key_id,
        others_too=ADMIN_OR_OPERATOR.admits(principal.role),
    )
    return answer(None, 204)


@router.options("/{name}/events")
def discover_query_events(record: NamedQuery) -> Response:
    return discovery("OPTIONS, GET")


@router.get("/{name}/events")
def query_events(
    request: Request,
    record: NamedQuery,
    principal: AnyRole,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    unknown = set(query_params(request)) - _SUBSCRIPTION_CONTROLS - {"perPage", "nextPageToken"}
    if unknown:
        raise EpcisValidationError(
            f"{sorted(unknown)[0]}: a named query's parameters are fixed when it is created"
        )
    return events_page(
        request,
        principal,
        session,
        settings,
        params=json.loads(record.query),
        query_name=record.name,
    )


@router.options("/{name}/subscriptions")
def discover_subscriptions(record: NamedQuery) -> Response:
    return discovery("OPTIONS, GET, POST")


@router.get("/{name}/subscriptions")
def list_subscriptions(name: str, record: NamedQuery, session: SessionDep) -> Response:
    listed = subscriptions.list_for(session=session, query=record)
    return answer([subscriptions.out(session, s, name) for s in listed])


@router.post("/{name}/subscriptions")
def subscribe(
    name: str,
    request: Request,
    body: Body,
    # Only the brand's own admin and operator keys make the service send requests to a
    # URL of their choosing; dealers and compliance officers query, they do not subscribe.
    principal: AdminOrOperator,
    record: NamedQuery,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    created = subscriptions.create(
        session=session,
        query=record,
        body=json_body(request, body, settings),
        actor=principal.key_id,
        organisation_id=viewer(principal).organisation_id,
        allow_private=settings.epcis_webhook_allow_private,
    )
    location = (
        f"{str(request.base_url).rstrip('/')}/epcis/queries/{quote(name, safe='')}"
        f"/subscriptions/{quote(str(created.id), safe='')}"
    )
    return answer(subscriptions.out(session, created, name), 201, {"Location": location})


@router.options("/{name}/subscriptions/{subscription_id}")
def discover_subscription(found: Subscription) -> Response:
    return discovery("OPTIONS, GET, DELETE")


@router.get("/{name}/subscriptions/{subscription_id}")
def subscription(name: str, found: Subscription, session: SessionDep) -> Response:
    return answer(subscriptions.out(session, found, name))


@router.delete("/{name}/subscriptions/{subscription_id}")
def unsubscribe(found: Subscription, principal: AnyRole, session: SessionDep) -> Response:
    subscriptions.delete(
        session=session,
        record=found,
        actor=principal.key_id,
        others_too=ADMIN_OR_OPERATOR.admits(principal.role),
    )
    return answer(None, 204)


# -- parties: which GLNs stand for which organisation ----------------------------------------


@parties_router.post("/parties", response_model=PartyOut, status_code=status.HTTP_201_CREATED)
def register_party(body: PartyCreate, admin: AdminOnly, session: SessionDep) -> PartyOut:
    record = service.register_party(
        session=session,
        tenant_id=admin.tenant_id,
        organisation_id=body.organisation_id,
        identifier=body.identifier,
        actor=admin.key_id,
    )
    return PartyOut.model_validate(record)


@parties_router.get("/parties", response_model=list[PartyOut])
def parties(principal: AnyRole, session: SessionDep) -> list[PartyOut]:
    records = service.list_parties(session=session, tenant_id=principal.tenant_id)
    return [PartyOut.model_validate(r) for r in records]
