"""The managers' dashboard: the KPI report of `/reports/summary` (the same function, the same
window: the last 30 days by default) as charts and as the report's own rows of figures, with
trends from the same report over equal slices of the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from console import render
from console.app import ConsoleRoute
from console.deps import ManagerDep
from domain.messages import summary as problems
from recordstore.reports import ReportQuery, SummaryReport, summary

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
DEFAULT_DAYS = 30
SLICES = 6
Bound = Annotated[str | None, Query(max_length=64)]


def _window(from_: str | None, to: str | None) -> ReportQuery:
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    values = {
        "from": from_ or (end - timedelta(days=DEFAULT_DAYS)).isoformat(),
        "to": to or end.isoformat(),
    }
    return ReportQuery.model_validate(values)


def _slices(window: ReportQuery) -> list[ReportQuery]:
    step = (window.to - window.from_) / SLICES
    return [
        ReportQuery.model_validate(
            {"from": window.from_ + step * i, "to": window.from_ + step * (i + 1)}
        )
        for i in range(SLICES)
    ]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def chart_data(report: SummaryReport, trend: list[SummaryReport]) -> dict[str, Any]:
    """What the charts draw (static/dashboard.js), all from the reports."""
    categories = sorted({c for r in trend for c in r.counts.by_category})
    return {
        "slices": [f"{r.window.from_:%m-%d}" for r in trend],
        "by_priority": {
            p: [r.counts.by_priority.get(p, 0) for r in trend] for p in report.counts.by_priority
        },
        "by_category": {c: [r.counts.by_category.get(c, 0) for r in trend] for c in categories},
        "mtta_hours": [_hours(r.mtta.mean_seconds) for r in trend],
        "mttr_hours": [_hours(r.mttr.mean_seconds) for r in trend],
        "sla_priorities": list(report.response_sla.by_priority),
        "response_sla": [_percent(c.compliance) for c in report.response_sla.by_priority.values()],
        "resolution_sla": [
            _percent(c.compliance) for c in report.resolution_sla.by_priority.values()
        ],
        "backlog": report.backlog.by_age,
        "reopen_rate": [_percent(r.reopen_rate.rate) for r in trend],
        "survey_mean": [r.survey.mean for r in trend],
        "survey_count": [r.survey.count for r in trend],
    }


@router.get("/dashboard")
async def dashboard(
    request: Request,
    reader: ManagerDep,
    from_: Annotated[Bound, Query(alias="from")] = None,
    to: Bound = None,
) -> Response:
    try:
        window = _window(from_, to)
    except ValidationError as error:
        return render.page(
            request, "error.html", status_code=HTTPStatus.UNPROCESSABLE_ENTITY,
            message=problems(error, "window"), **reader.context(),
        )  # fmt: skip
    database = reader.services.store.database
    report = await summary(database, window)
    trend = [await summary(database, piece) for piece in _slices(window)]
    return render.page(
        request,
        "dashboard.html",
        report=report,
        rows=report.rows(),
        charts=chart_data(report, trend),
        window_from=window.from_.isoformat(),
        window_to=window.to.isoformat(),
        **reader.context(),
    )
