"""The one place that maps failures to HTTP status codes and clear JSON bodies."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from recordstore import IdempotencyConflict, InvalidCursor
from workflows.domain import INVALID_REQUEST, INVALID_TRANSITION

log = structlog.get_logger()


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
    known_error_id: str | None = None
    retry_after_seconds: int | None = None


DESCRIPTIONS = {
    401: "no bearer token, or one that is not in the tokens file",
    403: "the caller's role may not do this",
    404: "unknown (a requester is told the same of another caller's incident)",
    409: "not allowed in the current state: the body names the state and the allowed actions",
    422: "bad input: `problems` names each field and what is wrong with it",
    429: "too many changes to this incident at once; retry after `retry_after_seconds`",
    503: "Temporal is unreachable; retry shortly",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all with the one ErrorBody schema."""
    return {
        status: {"model": ErrorBody, "description": DESCRIPTIONS[status]} for status in statuses
    }


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def not_found(number: str) -> ApiError:
    return ApiError(404, f"incident {number} not found")


def _body(status: int, message: str, **extra: Any) -> JSONResponse:
    body = ErrorBody.model_validate({"error": message, **extra})
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


def _field_of(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(location[-1] if location else "body")


def _problem(issue: dict[str, Any]) -> dict[str, str]:
    if issue["type"] == "json_invalid":  # located at ("body", character position) or ("body",)
        reason = (issue.get("ctx") or {}).get("error")
        position = issue["loc"][-1]
        message = "not valid JSON" + (f": {reason}" if reason else "")
        if isinstance(position, int):
            message += f" at character {position}"
        return {"field": "body", "message": message}
    return {"field": _field_of(tuple(issue["loc"])), "message": issue["msg"]}


async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = [_problem(issue) for issue in error.errors()]
    message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return _body(422, message, problems=problems)


async def _api_error(request: Request, error: ApiError) -> JSONResponse:
    return _body(error.status, error.message, **error.extra)


def application_error_response(error: ApplicationError) -> JSONResponse:
    details = error.details[0] if error.details and isinstance(error.details[0], dict) else {}
    if error.type == INVALID_TRANSITION:
        return _body(
            409,
            error.message,
            state=details.get("state"),
            allowed_actions=details.get("allowed_actions"),
        )
    if error.type == INVALID_REQUEST:
        problem = {
            "field": details.get("field", "body"),
            "message": details.get("message", error.message),
        }
        return _body(422, error.message, problems=[problem])
    log.error("workflow failure", error=error.message, type=error.type)
    return _body(500, "the incident workflow failed to apply the request")


async def _update_failed(request: Request, error: WorkflowUpdateFailedError) -> JSONResponse:
    if isinstance(error.cause, ApplicationError):
        return application_error_response(error.cause)
    return _body(500, "the incident workflow failed to apply the request")


async def _http(request: Request, error: HTTPException) -> JSONResponse:
    # Starlette's own answers (no such route, method not allowed) in the API's error shape.
    if error.status_code == 400:  # FastAPI's only 400: a body that is not even UTF-8 text
        message = "not valid JSON: the body could not be decoded"
        return _body(422, f"body: {message}", problems=[{"field": "body", "message": message}])
    response = _body(error.status_code, str(error.detail))
    response.headers.update(error.headers or {})
    return response


async def _rpc(request: Request, error: RPCError) -> JSONResponse:
    if error.status == RPCStatusCode.NOT_FOUND:
        return _body(404, "incident not found")
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return _body(503, "Temporal is unreachable; try again shortly", retry_after_seconds=5)
    if error.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        # A limit (updates in flight on one workflow, requests per second), not a fault.
        response = _body(429, f"Temporal is busy: {error.message}", retry_after_seconds=1)
        response.headers["Retry-After"] = "1"
        return response
    log.error("temporal error", status=error.status.name, error=str(error))
    return _body(502, f"Temporal refused the request: {error.message}")


async def _idempotency(request: Request, error: IdempotencyConflict) -> JSONResponse:
    problem = {"field": "Idempotency-Key", "message": "already used with a different request body"}
    return _body(
        422, "Idempotency-Key: already used with a different request body", problems=[problem]
    )


async def _invalid_cursor(request: Request, error: InvalidCursor) -> JSONResponse:
    problem = {"field": "cursor", "message": "invalid"}
    return _body(422, "cursor: not a cursor this API returned", problems=[problem])


async def _runtime(request: Request, error: RuntimeError) -> JSONResponse:
    # The lazy Temporal client raises a bare RuntimeError when it cannot connect at all.
    if str(error).startswith("Failed client connect"):
        log.warning("temporal unreachable", error=str(error))
        return _body(503, "Temporal is unreachable; try again shortly", retry_after_seconds=5)
    log.exception("unexpected error", exc_info=error)
    return _body(500, "internal error")


async def _database(request: Request, error: DBAPIError) -> JSONResponse:
    log.warning("record store unavailable", error=str(error.orig))
    return _body(
        503, "the record store is unavailable or busy; try again shortly", retry_after_seconds=5
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(WorkflowUpdateFailedError, _update_failed)  # type: ignore[arg-type]
    app.add_exception_handler(RPCError, _rpc)  # type: ignore[arg-type]
    app.add_exception_handler(IdempotencyConflict, _idempotency)  # type: ignore[arg-type]
    app.add_exception_handler(InvalidCursor, _invalid_cursor)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _database)  # type: ignore[arg-type]
    app.add_exception_handler(RuntimeError, _runtime)  # type: ignore[arg-type]
