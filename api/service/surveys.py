"""Satisfaction surveys: the caller rates a closed incident, once. The workflow has ended by
then, so the answer goes straight onto the record, by a write conditional on the version read:
of concurrent answers the first wins and the others are 409s (recordstore/surveys.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field

from api.auth import Principal
from api.service import incidents
from api.service.context import Services
from api.service.errors import Conflict, Forbidden
from api.service.visibility import visible
from domain.models import IncidentView, Status, Strict, TimelineEntry
from recordstore.surveys import record_once


class SurveyAnswer(Strict):
    score: int = Field(ge=1, le=5, strict=True, description="1 very poor ... 5 very good")
    comment: str | None = Field(default=None, max_length=4000)


async def answer_survey(
    services: Services, principal: Principal, number: str, answer: SurveyAnswer
) -> IncidentView:
    view = await incidents.read(services, principal, number)
    if principal.name != view.caller:
        raise Forbidden("only the incident's caller answers its survey")
    if view.status != Status.CLOSED or not view.survey_invited:
        raise Conflict(
            f"no survey is open for {number}", state=view.status.value, allowed_actions=[]
        )
    if view.survey_score is not None:
        raise _already_answered(number, view)
    now = datetime.now(UTC)
    answered = view.model_copy(
        update={
            "survey_score": answer.score,
            "survey_comment": answer.comment,
            "version": view.version + 1,
            "updated_at": now,
        }
    )
    entry = TimelineEntry(
        at=now, actor=principal.name, kind="survey", details=answer.model_dump(exclude_none=True)
    )
    if not await record_once(services.store.database, answered, view.version, entry):
        raise _already_answered(number, view)
    return visible(principal, answered)


def _already_answered(number: str, view: IncidentView) -> Conflict:
    return Conflict(
        f"the survey of {number} is already answered",
        state=view.status.value,
        allowed_actions=[],
    )
