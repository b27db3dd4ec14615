"""The one place that maps failures to HTTP status codes and clear JSON bodies: the service's
named refusals (`api/service/errors.py`), and what Temporal, the record store and FastAPI raise."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api.service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Refused,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
    invalid_cursor,
    workflow_refusal,
)
from domain.messages import REQUEST_PARTS, describe
from recordstore import IdempotencyConflict, InvalidCursor

log = structlog.get_logger()
RETRY_AFTER_UNAVAILABLE = 5
RETRY_AFTER_BUSY = 1


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error the API answers with: a message, and what the status needs said."""

    model_config = ConfigDict(extra="forbid")

    error: str
    problems: list[FieldProblem] | None = None
    state: str | None = None
    allowed_actions: list[str] | None = None
    missing: list[str] | None = None
    known_error_id: str | None = None
    retry_after_seconds: int | None = None


# Each refusal's status, and what the OpenAPI document says of it.
STATUS: dict[type[Refused], tuple[HTTPStatus, str]] = {
    Unauthorized: (
        HTTPStatus.UNAUTHORIZED,
        "no bearer token, or one that is not in the tokens file",
    ),
    Forbidden: (HTTPStatus.FORBIDDEN, "the caller's role may not do this"),
    NotFound: (
        HTTPStatus.NOT_FOUND,
        "unknown (a requester is told the same of another caller's incident)",
    ),
    Conflict: (
        HTTPStatus.CONFLICT,
        "not allowed in the current state, or a precondition unmet: the body names the state, "
        "the allowed actions and what is `missing`",
    ),
    Unprocessable: (
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "bad input: `problems` names each field and what is wrong with it",
    ),
    TooManyRequests: (
        HTTPStatus.TOO_MANY_REQUESTS,
        "too many changes to this incident at once; retry after `retry_after_seconds`",
    ),
    Unavailable: (
        HTTPStatus.SERVICE_UNAVAILABLE,
        "Temporal or the record store unreachable, or the incident did not answer in time; "
        "retry after `Retry-After` seconds with the same Idempotency-Key",
    ),
}


def documented(*refusals: type[Refused]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these refusals, all with the one ErrorBody schema."""
    return {
        int(STATUS[refusal][0]): {"model": ErrorBody, "description": STATUS[refusal][1]}
        for refusal in refusals
    }


def status_of(refusal: type[Refused]) -> HTTPStatus:
    return next(STATUS[kind][0] for kind in refusal.__mro__ if kind in STATUS)


def refusal_response(error: Refused) -> JSONResponse:
    extra: dict[str, Any] = {}
    match error:
        case Conflict():
            extra = {
                "state": error.state,
                "allowed_actions": error.allowed_actions,
                "known_error_id": error.known_error_id,
                "missing": error.missing,
            }
        case Unprocessable():
            extra = {"problems": [{"field": error.field, "message": error.problem}]}
        case TooManyRequests() | Unavailable():
            extra = {"retry_after_seconds": error.retry_after_seconds}
    response = _body(status_of(type(error)), error.message, **extra)
    if isinstance(error, TooManyRequests | Unavailable) and error.retry_after_seconds:
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


async def _refused(request: Request, error: Refused) -> JSONResponse:
    return refusal_response(error)


def _body(status: int, message: str, **extra: Any) -> JSONResponse:
    body = ErrorBody.model_validate({"error": message, **extra})
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


def internal_error_response() -> JSONResponse:
    return _body(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal error: it has been logged; please retry or report it",
    )


def unprocessable_response(field: str, message: str) -> JSONResponse:
    return refusal_response(Unprocessable(field, message))


def too_large_response(max_bytes: int) -> JSONResponse:
    # Not a refusal of the service: the HTTP intake turns the body away before any route.
    return _body(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        f"request body too large: the limit is {max_bytes} bytes",
    )


def _problem(issue: dict[str, Any]) -> dict[str, str]:
    field, message = describe(issue, drop=REQUEST_PARTS)
    return {"field": field, "message": message}


async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = [_problem(issue) for issue in error.errors()]
    message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return _body(status_of(Unprocessable), message, problems=problems)


def _workflow_failed() -> JSONResponse:
    return _body(
        HTTPStatus.INTERNAL_SERVER_ERROR, "the incident workflow failed to apply the request"
    )


async def _update_failed(request: Request, error: WorkflowUpdateFailedError) -> JSONResponse:
    refusal = workflow_refusal(error)
    if refusal is not None:
        return refusal_response(refusal)
    log.error("workflow failure", error=str(error.cause))
    return _workflow_failed()


async def _http(request: Request, error: HTTPException) -> JSONResponse:
    # Starlette's own answers (no such route, method not allowed) in the API's error shape.
    if error.status_code == HTTPStatus.BAD_REQUEST:  # FastAPI's only 400: a body not even UTF-8
        message = "not valid JSON: the body could not be decoded"
        return refusal_response(Unprocessable("body", message))
    response = _body(error.status_code, str(error.detail))
    response.headers.update(error.headers or {})
    return response


def _temporal_unreachable() -> JSONResponse:
    return refusal_response(
        Unavailable(
            "Temporal is unreachable; try again shortly",
            retry_after_seconds=RETRY_AFTER_UNAVAILABLE,
        )
    )


async def _rpc(request: Request, error: RPCError) -> JSONResponse:
    if error.status == RPCStatusCode.NOT_FOUND:
        return refusal_response(NotFound("incident not found"))
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return _temporal_unreachable()
    if error.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        # A limit (updates in flight on one workflow, requests per second), not a fault.
        return refusal_response(
            TooManyRequests(
                f"Temporal is busy: {error.message}", retry_after_seconds=RETRY_AFTER_BUSY
            )
        )
    # Any other refusal by Temporal: a 503 the client may retry, never a 502 or 500.
    log.error("temporal error", status=error.status.name, error=str(error))
    return refusal_response(
        Unavailable(
            f"Temporal refused the request: {error.message}",
            retry_after_seconds=RETRY_AFTER_UNAVAILABLE,
        )
    )


async def _update_not_answered(
    request: Request, error: WorkflowUpdateRPCTimeoutOrCancelledError
) -> JSONResponse:
    # A stalled worker: the update may still apply later; the same Idempotency-Key lands once.
    return refusal_response(
        Unavailable(
            "the incident did not answer in time; the change may still apply: retry with the "
            "same Idempotency-Key",
            retry_after_seconds=RETRY_AFTER_UNAVAILABLE,
        )
    )


async def _idempotency(request: Request, error: IdempotencyConflict) -> JSONResponse:
    return refusal_response(
        Unprocessable("Idempotency-Key", "already used with a different request body")
    )


async def _invalid_cursor(request: Request, error: InvalidCursor) -> JSONResponse:
    return refusal_response(invalid_cursor())


async def _runtime(request: Request, error: RuntimeError) -> JSONResponse:
    # The lazy Temporal client raises a bare RuntimeError when it cannot connect at all.
    if str(error).startswith("Failed client connect"):
        log.warning("temporal unreachable", error=str(error))
        return _temporal_unreachable()
    log.exception("unexpected error", exc_info=error)
    return _body(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")


async def _database(request: Request, error: DBAPIError) -> JSONResponse:
    log.warning("record store unavailable", error=str(error.orig))
    return refusal_response(
        Unavailable(
            "the record store is unavailable or busy; try again shortly",
            retry_after_seconds=RETRY_AFTER_UNAVAILABLE,
        )
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(Refused, _refused)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(WorkflowUpdateFailedError, _update_failed)  # type: ignore[arg-type]
    app.add_exception_handler(RPCError, _rpc)  # type: ignore[arg-type]
    app.add_exception_handler(
        WorkflowUpdateRPCTimeoutOrCancelledError,
        _update_not_answered,  # type: ignore[arg-type]
    )
    app.add_exception_handler(IdempotencyConflict, _idempotency)  # type: ignore[arg-type]
    app.add_exception_handler(InvalidCursor, _invalid_cursor)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _database)  # type: ignore[arg-type]
    app.add_exception_handler(RuntimeError, _runtime)  # type: ignore[arg-type]
