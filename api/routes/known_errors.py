"""/known-errors: the known-error database (KEDB). CRUD, ranked search, and turning a resolved
incident into a known error. Agents, managers and admins."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from api.deps import AuthorizedDep, ServicesDep
from api.errors import documented
from api.service import known_errors
from api.service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from domain.kedb import (
    KNOWN_ERROR_ID,
    KnownError,
    KnownErrorCreate,
    KnownErrorOverrides,
    KnownErrorQuery,
    KnownErrorsPage,
    KnownErrorStatus,
)
from domain.models import KnownErrorMatch
from domain.names import INCIDENT_NUMBER_PATTERN
from recordstore.known_errors import KnownErrorStore

router = APIRouter(
    prefix="/known-errors",
    tags=["known errors"],
    responses=documented(Unauthorized, Forbidden, Unprocessable),
)

KnownErrorId = Annotated[str, Path(alias="id", pattern=KNOWN_ERROR_ID, examples=["KE0000001"])]
ModelT = TypeVar("ModelT", bound=BaseModel)

_CREATE_BODY: dict[str, Any] = {
    "required": False,
    "description": "A known error; with `from_incident`, optional fields that override what the "
    "incident supplies.",
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    KnownErrorCreate.model_json_schema(),
                    KnownErrorOverrides.model_json_schema(),
                ]
            }
        }
    },
}


def known_error_store(services: ServicesDep) -> KnownErrorStore:
    return KnownErrorStore(services.store.database)


Kedb = Annotated[KnownErrorStore, Depends(known_error_store)]


@router.get("", response_model=KnownErrorsPage)
async def list_known_errors(
    kedb: Kedb,
    principal: AuthorizedDep,
    status: KnownErrorStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> KnownErrorsPage:
    """Newest first; follow `next_cursor` for the next page."""
    return await kedb.list(limit=limit, cursor=cursor, status=status)


@router.get("/search", response_model=list[KnownErrorMatch])
async def search_known_errors(
    kedb: Kedb,
    principal: AuthorizedDep,
    q: Annotated[str, Query(min_length=1, max_length=4000, description="free text")],
    category: Annotated[str | None, Query(max_length=128, description="ranks higher")] = None,
    service: Annotated[str | None, Query(max_length=128, description="ranks higher")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[KnownErrorMatch]:
    """Published known errors ranked for `q`, best first, with their scores (higher is better).
    Any word matches; a known error of the given category or service ranks higher."""
    query = _validated(
        KnownErrorQuery,
        {"text": q, "category": category or None, "service": service or None, "limit": limit},
        where="query",
    )
    return await kedb.search(query)


@router.post(
    "",
    status_code=HTTPStatus.CREATED,
    response_model=KnownError,
    responses=documented(NotFound, Conflict, Unavailable),
    openapi_extra={"requestBody": _CREATE_BODY},
)
async def create_known_error(
    kedb: Kedb,
    services: ServicesDep,
    principal: AuthorizedDep,
    request: Request,
    response: Response,
    from_incident: Annotated[
        str | None,
        Query(
            pattern=INCIDENT_NUMBER_PATTERN,
            description="a resolved or closed incident to turn into a known error",
        ),
    ] = None,
) -> KnownError:
    body = await _json_body(request)
    if from_incident is None:
        created = await kedb.create(_validated(KnownErrorCreate, body, where="body"))
    else:
        overrides = _validated(KnownErrorOverrides, body, where="body")
        incident = await known_errors.finished_incident(services, principal, from_incident)
        fields = _validated(
            KnownErrorCreate,
            known_errors.from_resolved_incident(incident)
            | overrides.model_dump(exclude_unset=True),
            where="body",
        )
        created = await known_errors.create_from_incident(kedb, fields, incident)
    response.headers["Location"] = f"/known-errors/{created.id}"
    return created


@router.get("/{id}", response_model=KnownError, responses=documented(NotFound))
async def get_known_error(
    known_error_id: KnownErrorId, kedb: Kedb, principal: AuthorizedDep
) -> KnownError:
    found = await kedb.get(known_error_id)
    if found is None:
        raise _unknown(known_error_id)
    return found


@router.put("/{id}", response_model=KnownError, responses=documented(NotFound))
async def replace_known_error(
    known_error_id: KnownErrorId, body: KnownErrorCreate, kedb: Kedb, principal: AuthorizedDep
) -> KnownError:
    """Replaces every field: one left out returns to its default. Retire with
    `"status": "retired"` to stop suggesting it while keeping the record."""
    replaced = await kedb.update(known_error_id, body)
    if replaced is None:
        raise _unknown(known_error_id)
    return replaced


@router.delete(
    "/{id}",
    status_code=HTTPStatus.NO_CONTENT,
    response_class=Response,
    responses=documented(NotFound),
)
async def delete_known_error(
    known_error_id: KnownErrorId, kedb: Kedb, principal: AuthorizedDep
) -> None:
    """Removes it for good; PUT with `"status": "retired"` keeps the record instead."""
    if not await kedb.delete(known_error_id):
        raise _unknown(known_error_id)


def _unknown(known_error_id: str) -> NotFound:
    return NotFound(f"known error {known_error_id} not found")


async def _json_body(request: Request) -> Any:
    # Read by hand: the body's model depends on `from_incident`, and OpenAPI documents both.
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
        error = {"type": "json_invalid", "loc": ("body",), "msg": "not valid JSON", "input": None}
        raise RequestValidationError([error]) from None


def _validated(model: type[ModelT], data: Any, where: str) -> ModelT:
    """Validate inside the route, reporting failures like FastAPI's own (422, field named)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [{**issue, "loc": (where, *issue["loc"])} for issue in error.errors()]
        raise RequestValidationError(problems) from None
