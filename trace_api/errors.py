"""Domain errors of the service and their one mapping to RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A failure the client can act on; ``slug`` names its stable problem type."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Unauthenticated(ServiceError):
    status = 401
    slug = "unauthenticated"
    title = "Missing or invalid API key"


class Forbidden(ServiceError):
    status = 403
    slug = "forbidden"
    title = "Role not allowed"


class NotFound(ServiceError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class InvalidInput(ServiceError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class PayloadTooLarge(ServiceError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class RequestTimedOut(ServiceError):
    status = 408
    slug = "request-timeout"
    title = "Request timed out"


class RateLimited(ServiceError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"


class UnsafeSettings(Exception):
    """Production was asked to start on settings that are only safe locally."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("refusing to start in production: " + "; ".join(problems))
        self.problems = problems
