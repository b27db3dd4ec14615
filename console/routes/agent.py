"""Agents' pages: the queues (mine, my groups'), the incident list with its filters, and
"log a call" (a new incident taken by the service desk, similar open incidents shown as the
description is typed)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.service import incidents, queues, replies
from console import forms, render, sources
from console.app import ConsoleRoute
from console.deps import CsrfDep, Reader, StaffDep, TemplatesDep
from domain.models import Channel, IncidentCreate, Status
from domain.policy import Priority
from recordstore import IncidentFilter

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Short = Annotated[str | None, Query(max_length=128)]


async def _queue(reader: Reader, queue: str) -> queues.Queue:
    if queue == "mine":
        return await sources.queue_mine(reader.services, reader.principal)
    return await sources.queue_group(reader.services, reader.principal, queue)


@router.get("/queue")
async def queue_page(request: Request, reader: StaffDep, queue: Short = "mine") -> Response:
    found = await _queue(reader, queue or "mine")
    return render.page(
        request,
        "queue.html",
        title="My queue" if found.name == "mine" else f"Group {found.name}",
        queue=found.name,
        groups=sources.groups_of(reader.services, reader.principal),
        items=found.items,
        rows_url=str(request.url.replace(path="/console/queue/rows")),
        **reader.context(),
    )


@router.get("/queue/rows")
async def queue_rows(request: Request, reader: StaffDep, queue: Short = "mine") -> Response:
    found = await _queue(reader, queue or "mine")
    return render.page(request, "_queue_rows.html", items=found.items, **reader.context())


@router.get("/incidents")
async def incident_list(
    request: Request,
    reader: StaffDep,
    q: Annotated[str | None, Query(max_length=400)] = None,
    status: Annotated[Status | None, Query()] = None,
    priority: Annotated[Priority | None, Query()] = None,
    group: Short = None,
    assignee: Short = None,
    category: Short = None,
    service: Short = None,
    ci: Short = None,
    major: bool | None = None,
    breached: bool | None = None,
    open: bool | None = None,
    fragment: bool = False,
) -> Response:
    """Every incident the filters match (`GET /incidents`'s filters), open ones nearest breach
    first."""
    given = {
        "q": q, "status": status, "priority": priority, "group": group, "assignee": assignee,
        "category": category, "service": service, "ci": ci, "major": major,
        "breached": breached, "open": open,
    }  # fmt: skip
    filters = IncidentFilter(**{k: v for k, v in given.items() if v not in (None, "")})
    views = await sources.listed(reader.services, reader.principal, filters)
    found = sources.rows(reader.services, views)
    if filters.open:
        found = sources.by_urgency(found)
    if fragment:
        return render.page(request, "_rows.html", rows=found, **reader.context())
    return render.page(
        request,
        "incidents.html",
        rows=found,
        filters=filters.model_dump(),
        statuses=[s.value for s in Status],
        priorities=[p.value for p in Priority],
        rows_url=str(request.url.include_query_params(fragment="true")),
        **reader.context(),
    )


@router.get("/log-call")
async def log_call_form(request: Request, reader: StaffDep) -> Response:
    return _log_call(request, reader, {}, None)


def _log_call(
    request: Request, reader: Reader, values: dict[str, Any], error: str | None
) -> Response:
    directory = reader.services.directory
    return render.page(
        request,
        "log_call.html",
        status_code=HTTPStatus.UNPROCESSABLE_ENTITY if error else HTTPStatus.OK,
        values=values,
        error=error,
        people=sorted(directory.people),
        channels=[c.value for c in Channel],
        **reader.context(),
    )


CREATE_FIELDS = (
    "short_description", "description", "caller", "category", "subcategory", "service", "ci",
)  # fmt: skip


@router.post("/log-call", dependencies=[CsrfDep])
async def log_call(request: Request, reader: StaffDep) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        name: value
        for name in CREATE_FIELDS
        if isinstance(value := form.get(name), str) and value.strip()
    }
    for name in ("impact", "urgency"):
        raw = form.get(name)
        if isinstance(raw, str) and raw.isdigit():
            values[name] = int(raw)
    channel = form.get("channel")
    values["channel"] = channel if isinstance(channel, str) and channel else Channel.PHONE.value
    try:
        body = forms.validated(IncidentCreate, values)
    except forms.FormProblem as problem:
        return _log_call(request, reader, values, problem.message)
    assert isinstance(body, IncidentCreate)
    view, _ = await incidents.create(reader.services, reader.principal, body, None)
    return RedirectResponse(f"/console/incidents/{view.number}", status_code=HTTPStatus.SEE_OTHER)


@router.get("/similar")
async def similar(
    request: Request,
    reader: StaffDep,
    short_description: Annotated[str, Query(max_length=160)] = "",
    service: Short = None,
    ci: Short = None,
) -> Response:
    """Open incidents like the one being logged (the fragment under the log-a-call form)."""
    found = await sources.similar_open(
        reader.services, reader.principal, short_description, service or None, ci or None
    )
    return render.page(request, "_similar.html", similar=found, **reader.context())


@router.get("/reply-templates/vars")
async def template_vars(
    request: Request,
    reader: TemplatesDep,
    template: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    """The chosen reply template's text and the values it asks for (the comment form's part)."""
    chosen = replies.get_template(reader.services, template) if template else None
    return render.page(request, "_template_vars.html", chosen=chosen, **reader.context())
