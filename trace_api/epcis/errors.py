"""EPCIS errors: service errors whose problem ``type`` is the binding's exception name.

GS1's REST binding names its problem types ``epcisException:...``; trace_api/problems.py
uses ``type_uri`` when an error carries one (and the absolute request URL as instance).
"""

from __future__ import annotations

from typing import Any

from trace_api.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    Unauthenticated,
)


class EpcisValidationError(ServiceError):
    """The document or event breaks the EPCIS JSON Schema or a rule of the standard."""

    status = 400
    slug = "epcis-validation"
    title = "Invalid EPCIS document"
    type_uri = "epcisException:ValidationException"


class QueryParameterError(ServiceError):
    status = 400
    slug = "epcis-query-parameter"
    title = "Invalid EPCIS query parameter"
    type_uri = "epcisException:QueryParameterException"


class SubscriptionControlsError(ServiceError):
    status = 400
    slug = "epcis-subscription"
    title = "Invalid subscription"
    type_uri = "epcisException:SubscriptionControlsException"


class EpcisUnauthenticated(Unauthenticated):
    type_uri = "epcisException:SecurityException"


class EpcisForbidden(Forbidden):
    type_uri = "epcisException:SecurityException"


class NoSuchResource(NotFound):
    type_uri = "epcisException:NoSuchNameException"


class ResourceExists(Conflict):
    type_uri = "epcisException:ResourceAlreadyExistsException"


class CaptureLimitExceeded(PayloadTooLarge):
    type_uri = "epcisException:CaptureLimitExceededException"

    def __init__(self, detail: str, headers: dict[str, str], **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers = headers


class NotAcceptable(ServiceError):
    status = 406
    slug = "not-acceptable"
    title = "Not acceptable"
    type_uri = "epcisException:NotAcceptableException"


class UnsupportedMediaType(ServiceError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"
    type_uri = "epcisException:UnsupportedMediaTypeException"
