"""/incidents: create, list, read, the timeline, and one POST route per lifecycle action.

No `from __future__ import annotations` here: the action routes are built in a loop and FastAPI
must see each one's body model as a real object, not as a string naming a local variable.
"""

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Response
from pydantic import BaseModel

from api import permissions
from api.deps import AuthorizedDep, PrincipalDep, ServicesDep
from api.errors import documented
from api.numbers import strict_numbers
from api.service import incidents, similar, surveys
from api.service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from api.service.incidents import IncidentDetail
from domain.lifecycle import TRANSITIONS
from domain.models import (
    Action,
    IncidentCreate,
    IncidentsPage,
    IncidentView,
    Status,
    TimelineEntry,
)
from domain.names import INCIDENT_NUMBER_PATTERN
from domain.policy import Priority
from domain.similar import SimilarIncident
from recordstore import IncidentFilter

router = APIRouter(
    prefix="/incidents",
    tags=["incidents"],
    responses=documented(Unauthorized, Unprocessable, Unavailable),
)

NumberPath = Annotated[str, Path(pattern=INCIDENT_NUMBER_PATTERN, examples=["INC0000001"])]
IncidentCreateBody = strict_numbers(IncidentCreate)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", max_length=200, description="a retry with the same key acts once"
    ),
]


@router.post(
    "", status_code=HTTPStatus.CREATED, response_model=IncidentView, responses=documented(Forbidden)
)
async def create_incident(
    body: IncidentCreateBody,  # type: ignore[valid-type]
    services: ServicesDep,
    principal: AuthorizedDep,
    response: Response,
    key: IdempotencyKey = None,
) -> IncidentView:
    view, created = await incidents.create(services, principal, body, key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return view


@router.get("", response_model=IncidentsPage, responses=documented(Forbidden))
async def list_incidents(
    services: ServicesDep,
    principal: AuthorizedDep,
    status: Status | None = None,
    priority: Priority | None = None,
    group: Annotated[str | None, Query(max_length=128)] = None,
    assignee: Annotated[str | None, Query(max_length=128)] = None,
    caller: Annotated[str | None, Query(max_length=128)] = None,
    major: bool | None = None,
    breached: bool | None = None,
    category: Annotated[str | None, Query(max_length=128)] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    ci: Annotated[str | None, Query(max_length=128)] = None,
    open: Annotated[
        bool | None, Query(description="true: not resolved, closed or canceled; false: those")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=500,
            description="full text: every word in the short description, description or a "
            "public comment (word forms match: `printers` finds `printer`)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> IncidentsPage:
    filters = IncidentFilter(
        status=status,
        priority=priority,
        group=group,
        assignee=assignee,
        caller=caller,
        major=major,
        breached=breached,
        category=category,
        service=service,
        ci=ci,
        open=open,
        q=q,
    )
    return await incidents.list_incidents(services, principal, filters, limit, cursor)


@router.get("/similar", response_model=list[SimilarIncident], responses=documented(Forbidden))
async def similar_incidents(
    services: ServicesDep,
    principal: AuthorizedDep,
    q: Annotated[str | None, Query(max_length=4000, description="the caller's words")] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    ci: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[SimilarIncident]:
    """Open incidents that may be the same outage, best first: `why` says what they share
    (`text`, `service`, `ci`). Look here before creating one."""
    return await similar.similar(services, principal, q, service, ci, limit)


@router.get("/{number}", response_model=IncidentDetail, responses=documented(NotFound))
async def get_incident(
    number: NumberPath, services: ServicesDep, principal: AuthorizedDep
) -> IncidentDetail:
    return await incidents.get(services, principal, number)


@router.get(
    "/{number}/timeline", response_model=list[TimelineEntry], responses=documented(NotFound)
)
async def get_timeline(
    number: NumberPath, services: ServicesDep, principal: AuthorizedDep
) -> list[TimelineEntry]:
    return await incidents.timeline(services, principal, number)


@router.get(
    "/{number}/details/{digest}",
    responses=documented(NotFound),
    summary="Large event details the timeline refers to by digest",
)
async def get_stored_details(
    number: NumberPath,
    digest: Annotated[str, Path(pattern=r"^sha256:[0-9a-f]{64}$")],
    services: ServicesDep,
    principal: AuthorizedDep,
) -> Any:
    """Alert details over 2 KB are kept once in the record store; the timeline entry holds
    `{digest, bytes, preview, stored: true}` and this returns the details whole."""
    return await incidents.stored_details(services, principal, number, digest)


@router.post(
    "/{number}/survey",
    response_model=IncidentView,
    responses=documented(Forbidden, NotFound, Conflict),
)
async def answer_survey(
    number: NumberPath,
    answer: surveys.SurveyAnswer,
    services: ServicesDep,
    principal: AuthorizedDep,
) -> IncidentView:
    """The caller rates a closed incident, once: score 1-5 and a comment."""
    return await surveys.answer_survey(services, principal, number, answer)


def _action_route(action: Action, body_model: type[BaseModel]) -> None:
    # Roles are checked by the service, after the body is parsed (a web console calls it too).
    async def endpoint(
        number: NumberPath,
        body: Annotated[body_model, Body()],  # type: ignore[valid-type]
        services: ServicesDep,
        principal: PrincipalDep,
        key: IdempotencyKey = None,
    ) -> IncidentView:
        return await incidents.transition(services, principal, number, action, body, key)

    rule = TRANSITIONS[action]
    allowed_from = ", ".join(sorted(status.value for status in rule.sources))
    method, path = permissions.action_endpoint(action)
    router.add_api_route(
        path.removeprefix(router.prefix),
        endpoint,
        methods=[method],
        response_model=IncidentView,
        name=action.value,
        summary=f"{action.value.replace('_', ' ')} (from: {allowed_from})",
        description=(rule.request.__doc__ or "")
        + f"\n\nRoles: {permissions.action_rule(action).describe()}.",
        responses=documented(Forbidden, NotFound, Conflict, TooManyRequests),
    )


for _action in TRANSITIONS:
    _action_route(_action, incidents.body_model(_action))
