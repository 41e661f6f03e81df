"""The one error hierarchy. Transports turn these into HTTP statuses or ack errors.

``code`` is ``<feature>.<reason>``; ``message`` is safe to show to the user.
"""

from __future__ import annotations


class SidestageError(Exception):
    status = 400

    def __init__(self, code: str, message: str, *, details: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class InvalidInput(SidestageError):
    status = 400


class Unauthenticated(SidestageError):
    status = 401


class Forbidden(SidestageError):
    status = 403


class NotFound(SidestageError):
    status = 404


class Conflict(SidestageError):
    status = 409


class Unavailable(SidestageError):
    """Refused for want of capacity now; another way may still work (see ``details``)."""

    status = 503


class ServiceUnavailable(Unavailable):
    """A service this process needs (the database, Redis) cannot be reached now; the same
    request will work again once it is back, ``retry_after`` seconds from now, say."""

    def __init__(self, code: str, message: str, *, retry_after: float, service: str) -> None:
        super().__init__(code, message, details={"retry_after": retry_after})
        self.retry_after = retry_after
        self.service = service  # for the logs and the metrics, not for the client


class PayloadTooLarge(SidestageError):
    status = 413


class RateLimited(SidestageError):
    status = 429

    def __init__(self, code: str, message: str, *, retry_after: float) -> None:
        super().__init__(code, message, details={"retry_after": round(retry_after, 1)})
        self.retry_after = retry_after


class ConfigurationError(Exception):
    """The process cannot start as configured; the text says what to change."""
