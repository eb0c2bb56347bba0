"""HTTP routes of GS1's EPCIS 2.0 REST binding under /epcis: discovery, capture, events.

Named queries and subscriptions are in query_routes.py. Query parameters and bodies are
read here by hand, not by FastAPI's models, so every refusal carries the binding's own
problem type (``epcisException:...``) rather than a 422.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import BackgroundTasks, Depends, Request, Response
from sqlalchemy.orm import Session

from trace_api.components import OnStoredDep, SessionsDep
from trace_api.deps import SessionDep, SettingsDep
from trace_api.epcis import documents, large_captures, resources, service
from trace_api.epcis.errors import CaptureLimitExceeded, EpcisValidationError, NoSuchResource
from trace_api.epcis.http import (
    Body,
    answer,
    decode_cursor,
    discovery,
    encode_cursor,
    epcis_router,
    events_page,
    json_body,
    listing,
    next_link,
    per_page,
    viewer,
)
from trace_api.epcis.query import Page, Viewer
from trace_api.epcis.stored import Capturer
from trace_api.models import EpcisCaptureJob
from trace_api.principal import Principal
from trace_api.roles import AnyRole, Custodians, custody_view
from trace_api.settings import Settings

router = epcis_router("/epcis")

TOP_LEVEL = [
    "queries",
    "capture",
    "events",
    "eventTypes",
    "epcs",
    "readPoints",
    "bizLocations",
    "dispositions",
    "bizSteps",
]
_BEHAVIOURS = ("rollback", "proceed", "all")


# -- discovery ------------------------------------------------------------------------------


@router.options("/")
def discover_root(principal: AnyRole) -> Response:
    return discovery("OPTIONS, GET")


@router.get("/")
def top_level(principal: AnyRole) -> Response:
    return answer(documents.collection(TOP_LEVEL))


@router.delete("/nextPageToken/{token}", status_code=204)
def release_token(token: str, principal: AnyRole) -> Response:
    # Page tokens are stateless (query.py): there is nothing to release.
    return answer(None, 204)


# -- capture --------------------------------------------------------------------------------


def _capture_headers(settings: Settings) -> dict[str, str]:
    return {
        **service.limit_headers(
            settings.epcis_capture_limit, settings.epcis_capture_file_size_limit
        ),
        "GS1-Capture-Error-Behaviour": "rollback",
    }


@router.options("/capture")
def discover_capture(principal: AnyRole, settings: SettingsDep) -> Response:
    return discovery("OPTIONS, POST, GET", _capture_headers(settings))


def _read_document(request: Request, body: bytes, settings: Settings) -> Any:
    if len(body) > settings.epcis_capture_file_size_limit:
        raise CaptureLimitExceeded(
            f"the body is {len(body)} bytes; this repository takes at most "
            f"{settings.epcis_capture_file_size_limit} bytes per capture",
            headers=_capture_headers(settings),
            limit=settings.epcis_capture_file_size_limit,
        )
    return json_body(request, body, settings)


def _capturer(principal: Principal, settings: Settings) -> Capturer:
    checks = settings.route_checks
    return Capturer(
        principal.tenant_id, principal.key_id, custody_view(principal), route_checks=checks
    )


@router.post("/capture")
def capture(
    request: Request,
    body: Body,
    principal: Custodians,
    session: SessionDep,
    background: BackgroundTasks,
    settings: SettingsDep,
    sessions: SessionsDep,
    on_stored: OnStoredDep,
) -> Response:
    behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback").strip().lower()
    if behaviour not in _BEHAVIOURS:
        raise EpcisValidationError(
            f"GS1-Capture-Error-Behaviour must be one of {', '.join(_BEHAVIOURS)}"
        )
    checked = service.check_document(
        _read_document(request, body, settings),
        capture_limit=settings.epcis_capture_limit,
        file_size_limit=settings.epcis_capture_file_size_limit,
    )
    capturer = _capturer(principal, settings)
    job = service.start_capture(
        session=session, capturer=capturer, request=checked, behaviour=behaviour
    )
    if len(checked.events) <= settings.epcis_capture_sync_limit:
        service.run_capture(
            session=session,
            job=job,
            capturer=capturer,
            request=checked,
            on_stored=on_stored,
        )
    else:  # stored after the answer, once the job row is committed
        background.add_task(
            large_captures.store_later,
            sessions=sessions,
            job_id=job.id,
            capturer=capturer,
            request=checked,
            on_stored=on_stored,
        )
    return answer(None, 202, {"Location": f"/epcis/capture/{job.id}"})


@router.get("/capture")
def capture_jobs(
    request: Request, principal: AnyRole, session: SessionDep, settings: SettingsDep
) -> Response:
    return listing(request, principal, session, settings, service.list_jobs, service.job_out)


def _capture_job(capture_id: str, principal: AnyRole, session: SessionDep) -> EpcisCaptureJob:
    return service.get_job(session=session, tenant_id=principal.tenant_id, capture_id=capture_id)


CaptureJob = Annotated[EpcisCaptureJob, Depends(_capture_job)]


@router.options("/capture/{capture_id}")
def discover_capture_job(job: CaptureJob) -> Response:
    return discovery("OPTIONS, GET")


@router.get("/capture/{capture_id}")
def capture_job(job: CaptureJob) -> Response:
    return answer(service.job_out(job))


# -- events ---------------------------------------------------------------------------------


@router.options("/events")
def discover_events(principal: AnyRole) -> Response:
    return discovery("OPTIONS, GET, POST")


@router.get("/events")
def events(
    request: Request, principal: AnyRole, session: SessionDep, settings: SettingsDep
) -> Response:
    return events_page(request, principal, session, settings)


@router.post("/events")
def capture_one(
    request: Request,
    body: Body,
    principal: Custodians,
    session: SessionDep,
    settings: SettingsDep,
    on_stored: OnStoredDep,
) -> Response:
    event = _read_document(request, body, settings)
    row = service.capture_event(
        session=session,
        capturer=_capturer(principal, settings),
        event=event,
        on_stored=on_stored,
    )
    location = f"/epcis/events/{quote(row.event_id, safe='')}"
    return answer(documents.event_out(row), 201, {"Location": location})


def _event(event_id: str, principal: AnyRole, session: SessionDep) -> Page:
    return service.get_event(session=session, viewer=viewer(principal), event_id=event_id)


Event = Annotated[Page, Depends(_event)]


@router.options("/events/{event_id:path}")
def discover_event(page: Event) -> Response:
    return discovery("OPTIONS, GET")


@router.get("/events/{event_id:path}")
def event(page: Event) -> Response:
    return answer(documents.query_document(page.rows, page.bodies))


# -- the top-level resources and their events -------------------------------------------------
#
# Each is a filter fixed by the path: /bizSteps/shipping/events is /events?EQ_bizStep=shipping.

_RESOURCES: dict[str, str] = {
    "eventTypes": "eventType",
    "epcs": "MATCH_anyEPC",
    "bizSteps": "EQ_bizStep",
    "bizLocations": "EQ_bizLocation",
    "readPoints": "EQ_readPoint",
    "dispositions": "EQ_disposition",
}


def _members(
    request: Request, session: Session, settings: Settings, view: Viewer, resource: str
) -> Response:
    """A collection of the resource's values, a page at a time after the first."""
    limit = per_page(request, settings)
    after = decode_cursor(request.query_params.get("nextPageToken")) or ""
    values, more = resources.members(
        session=session, view=view, resource=resource, after=after, limit=limit
    )
    token = encode_cursor(values[-1]) if more else None
    return answer(documents.collection(values), headers=next_link(request, token))


def _register(resource: str, parameter: str) -> None:
    @router.options(f"/{resource}")
    def discover_collection(principal: AnyRole) -> Response:
        return discovery("OPTIONS, GET")

    @router.get(f"/{resource}")
    def collection(
        request: Request, principal: AnyRole, session: SessionDep, settings: SettingsDep
    ) -> Response:
        return _members(request, session, settings, viewer(principal), resource)

    @router.options(f"/{resource}/{{value:path}}/events")
    def discover_events_of(value: str, principal: AnyRole) -> Response:
        return discovery("OPTIONS, GET")

    @router.get(f"/{resource}/{{value:path}}/events")
    def events_of(
        value: str,
        request: Request,
        principal: AnyRole,
        session: SessionDep,
        settings: SettingsDep,
    ) -> Response:
        return events_page(request, principal, session, settings, fixed={parameter: [value]})

    def known(value: str, principal: AnyRole, session: SessionDep) -> None:
        if not resources.is_member(
            session=session, view=viewer(principal), resource=resource, value=value
        ):
            raise NoSuchResource(f"no {resource} member {value}")

    @router.options(f"/{resource}/{{value:path}}", dependencies=[Depends(known)])
    def discover_member() -> Response:
        return discovery("OPTIONS, GET")

    @router.get(f"/{resource}/{{value:path}}", dependencies=[Depends(known)])
    def member() -> Response:
        return answer(documents.collection(["events"]))


for _resource, _parameter in _RESOURCES.items():
    _register(_resource, _parameter)
