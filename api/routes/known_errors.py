"""/known-errors: the known-error database (KEDB). CRUD, ranked search, and turning a resolved
incident into a known error. Agents, managers and admins."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError

from api import incidents
from api.auth import Principal, Role
from api.deps import ServicesDep, require
from api.errors import ApiError, documented, not_found
from recordstore.known_errors import KnownErrorStore, SourceIncidentTaken
from workflows.kedb import (
    KNOWN_ERROR_ID,
    KnownError,
    KnownErrorCreate,
    KnownErrorOverrides,
    KnownErrorQuery,
    KnownErrorsPage,
    KnownErrorStatus,
)
from workflows.models import IncidentView, KnownErrorMatch, ResolutionCode, Status

router = APIRouter(
    prefix="/known-errors", tags=["known errors"], responses=documented(401, 403, 422)
)

KedbUser = Annotated[Principal, Depends(require(Role.AGENT, Role.MANAGER))]
KnownErrorId = Annotated[str, Path(alias="id", pattern=KNOWN_ERROR_ID, examples=["KE0000001"])]
DONE = (Status.RESOLVED, Status.CLOSED)
SYMPTOMS_MAX = 32_000  # KnownErrorFields.symptoms; an incident's description may be as long
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
    principal: KedbUser,
    status: KnownErrorStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> KnownErrorsPage:
    """Newest first; follow `next_cursor` for the next page."""
    return await kedb.list(limit=limit, cursor=cursor, status=status)


@router.get("/search", response_model=list[KnownErrorMatch])
async def search_known_errors(
    kedb: Kedb,
    principal: KedbUser,
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
    status_code=201,
    response_model=KnownError,
    responses=documented(404, 409, 503),
    openapi_extra={"requestBody": _CREATE_BODY},
)
async def create_known_error(
    kedb: Kedb,
    services: ServicesDep,
    principal: KedbUser,
    request: Request,
    response: Response,
    from_incident: Annotated[
        str | None,
        Query(
            pattern=r"^INC\d{7}$",
            description="a resolved or closed incident to turn into a known error",
        ),
    ] = None,
) -> KnownError:
    body = await _json_body(request)
    if from_incident is None:
        created = await kedb.create(_validated(KnownErrorCreate, body, where="body"))
    else:
        overrides = _validated(KnownErrorOverrides, body, where="body")
        incident = await _finished_incident(services, principal, from_incident)
        fields = _validated(
            KnownErrorCreate,
            from_resolved_incident(incident) | overrides.model_dump(exclude_unset=True),
            where="body",
        )
        try:
            created = await kedb.create(fields, source_incident=incident.number)
        except SourceIncidentTaken as taken:
            raise ApiError(
                409,
                f"{taken.number} was already turned into known error {taken.known_error_id}",
                known_error_id=taken.known_error_id,
            ) from None
    response.headers["Location"] = f"/known-errors/{created.id}"
    return created


@router.get("/{id}", response_model=KnownError, responses=documented(404))
async def get_known_error(
    known_error_id: KnownErrorId, kedb: Kedb, principal: KedbUser
) -> KnownError:
    found = await kedb.get(known_error_id)
    if found is None:
        raise _unknown(known_error_id)
    return found


@router.put("/{id}", response_model=KnownError, responses=documented(404))
async def replace_known_error(
    known_error_id: KnownErrorId, body: KnownErrorCreate, kedb: Kedb, principal: KedbUser
) -> KnownError:
    """Replaces every field: one left out returns to its default. Retire with
    `"status": "retired"` to stop suggesting it while keeping the record."""
    replaced = await kedb.update(known_error_id, body)
    if replaced is None:
        raise _unknown(known_error_id)
    return replaced


@router.delete("/{id}", status_code=204, response_class=Response, responses=documented(404))
async def delete_known_error(known_error_id: KnownErrorId, kedb: Kedb, principal: KedbUser) -> None:
    """Removes it for good; PUT with `"status": "retired"` keeps the record instead."""
    if not await kedb.delete(known_error_id):
        raise _unknown(known_error_id)


# --- from an incident -----------------------------------------------------------------------


def from_resolved_incident(incident: IncidentView) -> dict[str, Any]:
    """The known error a resolved incident describes. The resolution notes are the workaround
    (what to do when it happens again); for a `fixed` incident without the workaround flag,
    they also stand as the root cause."""
    notes = incident.resolution_notes
    fixed = incident.resolution_code == ResolutionCode.FIXED and not incident.workaround
    symptoms = "\n\n".join(
        part for part in (incident.short_description, incident.description.strip()) if part
    )
    fields: dict[str, Any] = {
        "title": incident.short_description,
        "symptoms": symptoms[:SYMPTOMS_MAX],
        "category": incident.category,
        "service": incident.service,
        "workaround": notes,
        "root_cause": notes if fixed else None,
    }
    return {name: value for name, value in fields.items() if value is not None}


async def _finished_incident(
    services: ServicesDep, principal: Principal, number: str
) -> IncidentView:
    incident = await services.store.get_incident(number)
    if incident is None:
        raise not_found(number)
    if incident.status not in DONE:
        # The record follows the workflow by a moment: a resolve that just returned may not
        # be recorded yet. The live view settles it; when Temporal is away, the record stands.
        try:
            incident = await incidents.read(services, principal, number)
        except (RPCError, RuntimeError):
            pass
    if incident.status not in DONE:
        raise ApiError(
            409,
            f"{number} is {incident.status.value}: only a resolved or closed incident can "
            "become a known error",
            state=incident.status.value,
        )
    return incident


def _unknown(known_error_id: str) -> ApiError:
    return ApiError(404, f"known error {known_error_id} not found")


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
