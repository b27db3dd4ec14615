"""/incidents: create, list, read, the timeline, and one POST route per lifecycle action.

No `from __future__ import annotations` here: the action routes are built in a loop and FastAPI
must see each one's body model as a real object, not as a string naming a local variable.
"""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response
from pydantic import BaseModel

from api import incidents
from api.auth import ANYONE, REQUESTER_ACTIONS, Principal
from api.deps import PrincipalDep, ServicesDep, require
from api.errors import ApiError, documented
from api.incidents import IncidentDetail
from recordstore import IncidentFilter
from workflows.domain import TRANSITIONS
from workflows.models import (
    Action,
    IncidentCreate,
    IncidentsPage,
    IncidentView,
    Status,
    TimelineEntry,
)
from workflows.policy import Priority

router = APIRouter(prefix="/incidents", tags=["incidents"], responses=documented(401, 422, 503))

NumberPath = Annotated[str, Path(pattern=r"^INC\d{7}$", examples=["INC0000001"])]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", max_length=200, description="a retry with the same key acts once"
    ),
]
Anyone = Annotated[Principal, Depends(require(*ANYONE))]


@router.post("", status_code=201, response_model=IncidentView, responses=documented(403))
async def create_incident(
    body: IncidentCreate,
    services: ServicesDep,
    principal: Anyone,
    response: Response,
    key: IdempotencyKey = None,
) -> IncidentView:
    view, created = await incidents.create(services, principal, body, key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return view


@router.get("", response_model=IncidentsPage, responses=documented(403))
async def list_incidents(
    services: ServicesDep,
    principal: Anyone,
    status: Status | None = None,
    priority: Priority | None = None,
    group: Annotated[str | None, Query(max_length=128)] = None,
    assignee: Annotated[str | None, Query(max_length=128)] = None,
    caller: Annotated[str | None, Query(max_length=128)] = None,
    major: bool | None = None,
    breached: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> IncidentsPage:
    if principal.requester_only:
        if caller not in (None, principal.name):
            raise ApiError(403, "requesters can list only their own incidents")
        caller = principal.name
    filters = IncidentFilter(
        status=status,
        priority=priority,
        group=group,
        assignee=assignee,
        caller=caller,
        major=major,
        breached=breached,
    )
    page = await services.store.list_incidents(filters, limit=limit, cursor=cursor)
    items = [incidents.visible(principal, item) for item in page.items]
    return page.model_copy(update={"items": items})


@router.get("/{number}", response_model=IncidentDetail, responses=documented(404))
async def get_incident(
    number: NumberPath, services: ServicesDep, principal: Anyone
) -> IncidentDetail:
    view = await incidents.read(services, principal, number)
    return incidents.detail(services, incidents.visible(principal, view))


@router.get("/{number}/timeline", response_model=list[TimelineEntry], responses=documented(404))
async def get_timeline(
    number: NumberPath, services: ServicesDep, principal: Anyone
) -> list[TimelineEntry]:
    return await incidents.timeline(services, principal, number)


@router.post("/{number}/survey", response_model=IncidentView, responses=documented(403, 404, 409))
async def answer_survey(
    number: NumberPath, answer: incidents.SurveyAnswer, services: ServicesDep, principal: Anyone
) -> IncidentView:
    """The caller rates a closed incident, once: score 1-5 and a comment."""
    return await incidents.answer_survey(services, principal, number, answer)


def _action_route(action: Action, body_model: type[BaseModel], method: str, path: str) -> None:
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
    router.add_api_route(
        path,
        endpoint,
        methods=[method],
        response_model=IncidentView,
        name=action.value,
        summary=f"{action.value.replace('_', ' ')} (from: {allowed_from})",
        description=(rule.request.__doc__ or "")
        + "\n\nRoles: agent, manager, automation, admin"
        + ("; requesters on their own incidents." if action in REQUESTER_ACTIONS else "."),
        responses=documented(403, 404, 409, 429),
    )


PATHS = {Action.UPDATE: "/{number}", Action.VENDOR_TICKET: "/{number}/vendor-tickets"}

for _action in TRANSITIONS:
    _path = PATHS.get(_action, "/{number}/" + _action.value.replace("_", "-"))
    _action_route(
        _action,
        incidents.body_model(_action),
        "PATCH" if _action == Action.UPDATE else "POST",
        _path,
    )
