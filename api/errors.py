"""The one place that maps failures to HTTP status codes and clear JSON bodies."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from recordstore import IdempotencyConflict
from workflows.domain import INVALID_REQUEST, INVALID_TRANSITION

log = structlog.get_logger()


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def not_found(number: str) -> ApiError:
    return ApiError(404, f"incident {number} not found")


def _body(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _field_of(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(location[-1] if location else "body")


async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = [
        {"field": _field_of(tuple(issue["loc"])), "message": issue["msg"]}
        for issue in error.errors()
    ]
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


async def _rpc(request: Request, error: RPCError) -> JSONResponse:
    if error.status == RPCStatusCode.NOT_FOUND:
        return _body(404, "incident not found")
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return _body(503, "Temporal is unreachable; try again shortly", retry_after_seconds=5)
    log.error("temporal error", status=error.status.name, error=str(error))
    return _body(502, f"Temporal refused the request: {error.message}")


async def _idempotency(request: Request, error: IdempotencyConflict) -> JSONResponse:
    problem = {"field": "Idempotency-Key", "message": "already used with a different request body"}
    return _body(
        422, "Idempotency-Key: already used with a different request body", problems=[problem]
    )


async def _runtime(request: Request, error: RuntimeError) -> JSONResponse:
    # The lazy Temporal client raises a bare RuntimeError when it cannot connect at all.
    if str(error).startswith("Failed client connect"):
        log.warning("temporal unreachable", error=str(error))
        return _body(503, "Temporal is unreachable; try again shortly", retry_after_seconds=5)
    log.exception("unexpected error", exc_info=error)
    return _body(500, "internal error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(WorkflowUpdateFailedError, _update_failed)  # type: ignore[arg-type]
    app.add_exception_handler(RPCError, _rpc)  # type: ignore[arg-type]
    app.add_exception_handler(IdempotencyConflict, _idempotency)  # type: ignore[arg-type]
    app.add_exception_handler(RuntimeError, _runtime)  # type: ignore[arg-type]
