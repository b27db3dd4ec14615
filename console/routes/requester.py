"""Requesters' pages (anyone may use them for incidents they called in): raise an incident with
files, my incidents, and the status page of open major incidents."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from api.service import attachments, incidents
from console import forms, render, sources
from console.app import ConsoleRoute
from console.deps import CsrfDep, RaiseDep, Reader, ReaderDep
from domain.models import Channel, IncidentCreate
from recordstore import IncidentFilter

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


async def _mine(reader: Reader) -> list[sources.Row]:
    mine = IncidentFilter(caller=reader.principal.name)
    return sources.rows(
        reader.services, await sources.listed(reader.services, reader.principal, mine)
    )


@router.get("/my")
async def my_incidents(request: Request, reader: ReaderDep) -> Response:
    return render.page(request, "my.html", rows=await _mine(reader), **reader.context())


@router.get("/my/rows")
async def my_rows(request: Request, reader: ReaderDep) -> Response:
    return render.page(request, "_my_rows.html", rows=await _mine(reader), **reader.context())


@router.get("/raise")
async def raise_form(request: Request, reader: RaiseDep) -> Response:
    return _raise_page(request, reader, {}, None)


def _raise_page(
    request: Request, reader: Reader, values: dict[str, Any], error: str | None
) -> Response:
    return render.page(
        request,
        "raise.html",
        status_code=HTTPStatus.UNPROCESSABLE_ENTITY if error else HTTPStatus.OK,
        values=values,
        error=error,
        **reader.context(),
    )


@router.post("/raise", dependencies=[CsrfDep])
async def raise_incident(request: Request, reader: RaiseDep) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        name: value
        for name in ("short_description", "description", "service")
        if isinstance(value := form.get(name), str) and value.strip()
    }
    for name in ("impact", "urgency"):
        raw = form.get(name)
        if isinstance(raw, str) and raw.isdigit():
            values[name] = int(raw)
    values["channel"] = Channel.WEB.value
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    try:
        body = forms.validated(IncidentCreate, values)
    except forms.FormProblem as problem:
        return _raise_page(request, reader, values, problem.message)
    assert isinstance(body, IncidentCreate)
    view, _ = await incidents.create(reader.services, reader.principal, body, None)
    cap = reader.services.policy.email.max_attachment_bytes
    for upload in files:
        await attachments.add(
            reader.services,
            reader.principal,
            view.number,
            name=upload.filename,
            content_type=upload.content_type,
            data=await upload.read(cap + 1),
            source="web",
        )
    return RedirectResponse(f"/console/incidents/{view.number}", status_code=HTTPStatus.SEE_OTHER)


@router.get("/status")
async def status_page(request: Request, reader: ReaderDep) -> Response:
    """Open major incidents and their public status updates: the same for everyone."""
    return render.page(request, "status.html", **reader.context())
