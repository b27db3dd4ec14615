"""One incident's page, for whoever may read it: fields, SLA clocks, the timeline (work notes
marked; a requester's is the public one, in plain words), suggestions, playbook steps,
attachments, and a form per action the view's `allowed_actions` lists. The live part is a
fragment the page polls."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse

from api.routes.attachments import AttachmentId
from api.service import attachments, incidents, surveys
from console import forms, render, sources, timeline
from console.app import ConsoleRoute
from console.deps import CsrfDep, Reader, ReaderDep
from domain.models import Action, Status
from domain.names import INCIDENT_NUMBER_PATTERN

router = APIRouter(prefix="/console/incidents", route_class=ConsoleRoute, include_in_schema=False)
Number = Annotated[str, Path(pattern=INCIDENT_NUMBER_PATTERN)]
DONE = {action.value: action.value.replace("_", " ") for action in Action} | {
    "attachment": "file attached",
    "survey": "survey answered, thank you",
}


async def _live(reader: Reader, number: str, *parts: str) -> dict[str, Any]:
    """What the page shows that changes by itself: fields and clocks (`top`); attachments and
    the timeline (`bottom`)."""
    services, principal = reader.services, reader.principal
    detail = await incidents.get(services, principal, number)
    live: dict[str, Any] = {"incident": detail, "clocks": detail.clocks}
    if "bottom" in parts:
        entries = await incidents.timeline(services, principal, number)
        live["timeline"] = [timeline.shown(entry, reader.staff) for entry in reversed(entries)]
        live["attachments"] = await attachments.listing(services, principal, number)
    return live


async def _page(
    request: Request,
    reader: Reader,
    number: str,
    error: str | None = None,
    status_code: int = HTTPStatus.OK,
) -> Response:
    live = await _live(reader, number, "top", "bottom")
    detail = live["incident"]
    assert isinstance(detail, incidents.IncidentDetail)
    done = request.query_params.get("done")
    return render.page(
        request,
        "incident.html",
        status_code=status_code,
        error=error,
        done=DONE.get(done or ""),
        forms=forms.forms_for(detail.allowed_actions),
        survey_open=_survey_open(reader, detail),
        templates=sources.reply_templates(reader.services, reader.principal),
        playbook=sources.playbook_of(detail),
        people=sorted(reader.services.directory.people),
        groups=sorted(reader.services.directory.groups),
        **live,
        **reader.context(),
    )


def _survey_open(reader: Reader, detail: incidents.IncidentDetail) -> bool:
    return (
        detail.caller == reader.principal.name
        and detail.status == Status.CLOSED
        and detail.survey_invited
        and detail.survey_score is None
    )


@router.get("/{number}")
async def incident_page(request: Request, number: Number, reader: ReaderDep) -> Response:
    return await _page(request, reader, number)


@router.get("/{number}/live")
async def incident_live(
    request: Request, number: Number, reader: ReaderDep, part: Literal["top", "bottom"] = "top"
) -> Response:
    """The page's live parts: fields, clocks and suggestions (top); attachments and the
    timeline (bottom). The playbook between them keeps what is being typed."""
    template = "_incident_top.html" if part == "top" else "_incident_bottom.html"
    live = await _live(reader, number, part)
    return render.page(request, template, **live, **reader.context())


def _done(number: str, what: str) -> Response:
    return RedirectResponse(
        f"/console/incidents/{number}?done={quote(what)}", status_code=HTTPStatus.SEE_OTHER
    )


@router.post("/{number}/act/{action}", dependencies=[CsrfDep])
async def act(request: Request, number: Number, action: Action, reader: ReaderDep) -> Response:
    form = await request.form()
    try:
        body = forms.body_from(action, form)
    except forms.FormProblem as problem:
        return await _page(
            request, reader, number, problem.message, HTTPStatus.UNPROCESSABLE_ENTITY
        )
    await incidents.transition(reader.services, reader.principal, number, action, body, None)
    return _done(number, action.value)


@router.post("/{number}/attachments", dependencies=[CsrfDep])
async def attach(request: Request, number: Number, reader: ReaderDep) -> Response:
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return await _page(
            request, reader, number, "file: choose a file", HTTPStatus.UNPROCESSABLE_ENTITY
        )
    cap = reader.services.policy.email.max_attachment_bytes
    data = await upload.read(cap + 1)
    await attachments.add(
        reader.services,
        reader.principal,
        number,
        name=upload.filename,
        content_type=upload.content_type,
        data=data,
        source="web",
    )
    return _done(number, "attachment")


@router.get("/{number}/attachments/{id}")
async def download(number: Number, attachment_id: AttachmentId, reader: ReaderDep) -> Response:
    info, data = await attachments.fetch(reader.services, reader.principal, number, attachment_id)
    disposition = f"attachment; filename*=UTF-8''{quote(info.name, safe='')}"
    return Response(
        content=data,
        media_type=info.content_type,
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


@router.post("/{number}/survey", dependencies=[CsrfDep])
async def survey(request: Request, number: Number, reader: ReaderDep) -> Response:
    form = await request.form()
    score = form.get("score")
    comment = form.get("comment")
    values: dict[str, object] = {
        "score": int(score) if isinstance(score, str) and score.isdigit() else score
    }
    if isinstance(comment, str) and comment.strip():
        values["comment"] = comment
    try:
        answer = forms.validated(surveys.SurveyAnswer, values)
    except forms.FormProblem as problem:
        return await _page(
            request, reader, number, problem.message, HTTPStatus.UNPROCESSABLE_ENTITY
        )
    assert isinstance(answer, surveys.SurveyAnswer)
    await surveys.answer_survey(reader.services, reader.principal, number, answer)
    return _done(number, "survey")
