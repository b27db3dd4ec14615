"""The refusals of the service layer, by name. Nothing here knows HTTP: `api/errors.py` maps each
kind to its status code, and another client of the service (a web console) maps them its own way.
"""

from __future__ import annotations

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.lifecycle import INVALID_REQUEST, INVALID_TRANSITION


class Refused(Exception):
    """A request the service will not carry out; `message` says why, in words for the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(Refused):
    """No credentials, or ones that name nobody."""


class Forbidden(Refused):
    """The principal's roles do not allow this."""


class NotFound(Refused):
    """No such thing, or none the principal may know of (the same answer either way)."""


class Conflict(Refused):
    """Not allowed in the current state, or a precondition unmet."""

    def __init__(
        self,
        message: str,
        *,
        state: str | None = None,
        allowed_actions: list[str] | None = None,
        known_error_id: str | None = None,
        missing: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.state, self.allowed_actions, self.known_error_id = (
            state,
            allowed_actions,
            known_error_id,
        )
        self.missing = missing  # an unmet precondition: what the state lacks (["review"])


class Unprocessable(Refused):
    """Bad input: names the field and what is wrong with it."""

    def __init__(self, field: str, problem: str, *, message: str | None = None) -> None:
        super().__init__(message or f"{field}: {problem}")
        self.field, self.problem = field, problem


class TooManyRequests(Refused):
    """A limit, not a fault: the same request succeeds a little later."""

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Unavailable(Refused):
    """Temporal or the record store is unreachable, or did not answer in time."""

    def __init__(self, message: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


def incident_not_found(number: str) -> NotFound:
    return NotFound(f"incident {number} not found")


def invalid_cursor() -> Unprocessable:
    return Unprocessable("cursor", "invalid", message="cursor: not a cursor this API returned")


def workflow_refusal(error: WorkflowUpdateFailedError) -> Refused | None:
    """The refusal an incident workflow's rejected Update stands for; None for a fault."""
    cause = error.cause
    if not isinstance(cause, ApplicationError):
        return None
    details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
    if cause.type == INVALID_TRANSITION:
        return Conflict(
            cause.message,
            state=details.get("state"),
            allowed_actions=details.get("allowed_actions"),
            missing=details.get("missing"),
        )
    if cause.type == INVALID_REQUEST:
        field, problem = details.get("field", "body"), details.get("message", cause.message)
        return Unprocessable(field, problem, message=cause.message)
    return None
