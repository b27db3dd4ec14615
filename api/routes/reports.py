"""/reports: the KPI summary for managers, as JSON or CSV (definitions: recordstore/reports/)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import AuthorizedDep, ServicesDep
from api.errors import documented
from api.service.errors import Forbidden, Unauthorized, Unprocessable
from domain.policy import Priority
from recordstore.reports import ReportQuery, SummaryReport, summary

router = APIRouter(
    prefix="/reports",
    tags=["reports"],
    responses=documented(Unauthorized, Forbidden, Unprocessable),
)

Bound = Annotated[
    str,
    Query(
        max_length=64,
        description="ISO date (`2026-03-01`: that whole day) or datetime (UTC when no offset)",
    ),
]


@router.get(
    "/summary",
    response_model=SummaryReport,
    responses={
        HTTPStatus.OK: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}
    },
)
async def get_summary(
    services: ServicesDep,
    principal: AuthorizedDep,
    from_: Annotated[Bound | None, Query(alias="from")] = None,
    to: Bound | None = None,
    group: Annotated[str | None, Query(max_length=128)] = None,
    priority: Priority | None = None,
    format: Literal["json", "csv"] = "json",
) -> SummaryReport | Response:
    """Counts, MTTA, MTTR, SLA compliance, breaches, reopen rate, reassignments, first-contact
    resolution, backlog by age, survey score and closes by code over the window `[from, to)`:
    without `to` up to now, without `from` the 30 days before `to`. Each figure's population
    (created, started, resolved, SLA outcome in the window; open at `min(to, now)`) is in the
    schema's descriptions. Roles: manager, admin."""
    now = datetime.now(UTC)
    try:
        query = ReportQuery.model_validate(
            {"from": from_, "to": to, "group": group, "priority": priority},
            context={"now": now},
        )
    except ValidationError as error:
        # Reported like any other bad query parameter, naming it: `from` or `to`.
        raise RequestValidationError(
            [{**issue, "loc": ("query", *issue["loc"])} for issue in error.errors()]
        ) from None
    report = await summary(services.store.database, query, now)
    if format == "csv":
        return Response(
            _csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="incident-summary.csv"'},
        )
    return report


def _csv(report: SummaryReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("metric", "dimension", "value"))
    writer.writerows(
        (metric, dimension, "" if value is None else value)
        for metric, dimension, value in report.rows()
    )
    return out.getvalue()
