"""Errors of the codes domain (mapped to problem+json with the other service errors)."""

from __future__ import annotations

from trace_api.errors import InvalidInput


class InvalidGtin(InvalidInput):
    """A GTIN of the wrong length, with a non-digit, or with a wrong check digit."""

    slug = "invalid-gtin"
    title = "Invalid GTIN"


class InvalidDigitalLink(InvalidInput):
    """A URI that is not a GS1 Digital Link for an item this service can answer."""

    status = 400
    slug = "invalid-digital-link"
    title = "Invalid GS1 Digital Link"
