"""The summary report: ITIL KPIs over a time window, read from the record store.

The window is half-open, `[from, to)`. Every figure says which incidents it counts; they differ
on purpose, because each KPI is about a different moment in an incident's life:

- `counts`: incidents *created* in the window, by their current status, priority, category and
  group.
- `mtta`: incidents *first started* in the window (`started_at`), create -> first start.
- `mttr`, `mttr_with_pauses`, `reopen_rate`, `reassignments`, `first_contact_resolution`,
  `survey`: incidents *resolved* in the window (`resolved_at`: the latest resolution; closed
  incidents keep theirs, a reopen clears it until the incident is resolved again).
- `response_sla`, `resolution_sla`, `breaches`: SLA clocks whose *outcome* falls in the window:
  the breach time for a breached clock, the time it was met for a met clock. So each clock is
  counted once, in the window of its outcome, and a clock without an outcome yet is not counted.
- `backlog`: incidents *open at the window's end* (`to`), whenever they were created.

The `group` and `priority` filters apply to every figure and match the incident's current
assignment group and priority. Durations are wall-clock seconds, not business hours.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from recordstore.database import Database
from recordstore.schema import incidents
from workflows.models import Status
from workflows.policy import Priority

NONE = "(none)"  # the dimension of incidents without a category or an assignment group
RESOLVED_PAUSE = "resolved"  # the resolution clock's pause reason while the incident is resolved
# Bounds a window may have: room for the backlog's 30-day arithmetic at either end.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
# Backlog age buckets: label and lower bound; each bucket runs up to the next one's bound.
AGE_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("<1d", timedelta(0)),
    ("1-3d", timedelta(days=1)),
    ("3-7d", timedelta(days=3)),
    ("7-30d", timedelta(days=7)),
    (">30d", timedelta(days=30)),
)


class ReportQuery(BaseModel):
    """The window `[from, to)` and the filters. A date (`2026-03-01`) for `from` means the start
    of that day, for `to` the end of that day (UTC), so `from=2026-03-01&to=2026-03-31` is all of
    March. A datetime without an offset is UTC."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    from_: datetime = Field(alias="from")
    to: datetime
    group: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[^\x00]*$")
    priority: Priority | None = None

    @field_validator("from_", mode="before")
    @classmethod
    def _from_day_start(cls, value: Any) -> Any:
        return _bound(value, end_of_day=False)

    @field_validator("to", mode="before")
    @classmethod
    def _to_day_end(cls, value: Any) -> Any:
        return _bound(value, end_of_day=True)

    @field_validator("from_", "to")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        try:
            utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of range") from None
        if not EARLIEST <= utc < LATEST:
            raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year}")
        return utc

    @field_validator("to")
    @classmethod
    def _not_before_from(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("from_")
        if start is not None and value < start:
            raise ValueError(f"must not be before from ({start.isoformat()})")
        return value


def _bound(value: Any, *, end_of_day: bool) -> Any:
    """A plain date becomes midnight UTC: that day's for a start, the next day's for an end."""
    if isinstance(value, str) and len(value) == 10:
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value  # pydantic reports it
    if isinstance(value, date) and not isinstance(value, datetime):
        try:
            day = value + timedelta(days=1) if end_of_day else value
        except OverflowError:
            raise ValueError("out of range") from None
        return datetime.combine(day, time(), tzinfo=UTC)
    return value


class Counts(BaseModel):
    """Incidents created in the window, by current status, priority, category and group.
    Every status and priority appears, with 0 when none; categories and groups that occur do,
    `(none)` standing for no category or no group."""

    created: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_category: dict[str, int]
    by_group: dict[str, int]


class DurationStats(BaseModel):
    """Seconds over `count` incidents; mean and median are None when `count` is 0."""

    count: int
    mean_seconds: float | None
    median_seconds: float | None


class Ratio(BaseModel):
    """`count` of `total` incidents; `rate` = count / total, None when `total` is 0."""

    count: int
    total: int
    rate: float | None


class SlaCompliance(BaseModel):
    """Clocks with an outcome in the window: `compliance` = met / (met + breached), None when
    no clock had an outcome."""

    met: int
    breached: int
    compliance: float | None


class SlaReport(BaseModel):
    overall: SlaCompliance
    by_priority: dict[str, SlaCompliance]  # every priority, P1 to P5


class Breaches(BaseModel):
    """Breaches that happened in the window: per clock, and distinct incidents with either."""

    response: int
    resolution: int
    incidents: int


class Reassignments(BaseModel):
    """Over incidents resolved in the window: `total` group changes, `mean` per incident."""

    incidents: int
    total: int
    mean: float | None


class Backlog(BaseModel):
    """Incidents open (new, assigned, in progress, pending) at the window's end, by age then.
    Buckets include their lower bound: `1-3d` is at least 1 day and under 3 days old."""

    total: int
    by_age: dict[str, int]


class SurveyStats(BaseModel):
    """Satisfaction scores of incidents resolved in the window that have one."""

    count: int
    mean: float | None


class SummaryReport(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    window: ReportQuery
    counts: Counts
    mtta: DurationStats = Field(
        description="create -> first start, over incidents first started in the window"
    )
    mttr: DurationStats = Field(
        description="create -> resolved minus the time the resolution clock was paused for a "
        "pending reason, over incidents resolved in the window"
    )
    mttr_with_pauses: DurationStats = Field(
        description="create -> resolved, wall clock, over incidents resolved in the window"
    )
    response_sla: SlaReport
    resolution_sla: SlaReport
    breaches: Breaches
    resolved: int = Field(description="incidents resolved in the window")
    reopen_rate: Ratio = Field(
        description="incidents resolved in the window that were ever reopened"
    )
    reassignments: Reassignments
    first_contact_resolution: Ratio = Field(
        description="incidents resolved in the window by their first group (no reassignment)"
    )
    backlog: Backlog
    survey: SurveyStats

    def rows(self) -> list[tuple[str, str, float | int | str | None]]:
        """The same figures as (metric, dimension, value) rows: what `format=csv` serves."""
        rows: list[tuple[str, str, float | int | str | None]] = [
            ("window", "from", self.window.from_.isoformat()),
            ("window", "to", self.window.to.isoformat()),
            ("window", "group", self.window.group),
            ("window", "priority", self.window.priority),
            ("created", "all", self.counts.created),
        ]
        for name in ("status", "priority", "category", "group"):
            counts: dict[str, int] = getattr(self.counts, f"by_{name}")
            rows += [(f"created_by_{name}", key, value) for key, value in counts.items()]
        for name in ("mtta", "mttr", "mttr_with_pauses"):
            stats: DurationStats = getattr(self, name)
            rows += [
                (f"{name}_seconds", "mean", stats.mean_seconds),
                (f"{name}_seconds", "median", stats.median_seconds),
                (f"{name}_seconds", "count", stats.count),
            ]
        for name in ("response_sla", "resolution_sla"):
            sla: SlaReport = getattr(self, name)
            for dimension, figures in {"all": sla.overall, **sla.by_priority}.items():
                rows += [
                    (f"{name}_met", dimension, figures.met),
                    (f"{name}_breached", dimension, figures.breached),
                    (f"{name}_compliance", dimension, figures.compliance),
                ]
        rows += [
            ("breaches", "response", self.breaches.response),
            ("breaches", "resolution", self.breaches.resolution),
            ("breaches", "incidents", self.breaches.incidents),
            ("resolved", "all", self.resolved),
        ]
        for name in ("reopen_rate", "first_contact_resolution"):
            ratio: Ratio = getattr(self, name)
            rows += [(name, "rate", ratio.rate), (name, "count", ratio.count)]
        rows += [
            ("reassignments", "mean", self.reassignments.mean),
            ("reassignments", "total", self.reassignments.total),
            ("backlog", "all", self.backlog.total),
            *(("backlog", bucket, count) for bucket, count in self.backlog.by_age.items()),
            ("survey_score", "mean", self.survey.mean),
            ("survey_score", "count", self.survey.count),
        ]
        return rows


async def summary(database: Database, query: ReportQuery) -> SummaryReport:
    # One transaction, so that every figure comes from the same snapshot.
    async with database.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            counts = await _counts(conn, query)
            backlog = await _backlog(conn, query)
            facts = await _facts_of_events(conn, query)
    window = _Window(query.from_, query.to)
    started = [f for f in facts if window.holds(f.started_at)]
    resolved = [f for f in facts if window.holds(f.resolved_at)]
    return SummaryReport(
        window=query,
        counts=counts,
        mtta=_durations(_response_seconds(v) for v in started),
        mttr=_durations(_resolution_seconds(v) - _pending_seconds(v) for v in resolved),
        mttr_with_pauses=_durations(_resolution_seconds(v) for v in resolved),
        response_sla=_sla_report(facts, window, _response_outcome),
        resolution_sla=_sla_report(facts, window, _resolution_outcome),
        breaches=_breaches(facts, window),
        resolved=len(resolved),
        reopen_rate=_ratio(sum(v.reopen_count > 0 for v in resolved), len(resolved)),
        reassignments=_reassignments(resolved),
        first_contact_resolution=_ratio(
            sum(v.reassignment_count == 0 for v in resolved), len(resolved)
        ),
        backlog=backlog,
        survey=_survey(resolved),
    )


# --- SQL ------------------------------------------------------------------------------------


def _filters(query: ReportQuery) -> list[sa.ColumnElement[bool]]:
    clauses = []
    if query.group is not None:
        clauses.append(incidents.c.assignment_group == query.group)
    if query.priority is not None:
        clauses.append(incidents.c.priority == query.priority.value)
    return clauses


def _in_window(column: sa.Column[Any], query: ReportQuery) -> sa.ColumnElement[bool]:
    return sa.and_(column >= query.from_, column < query.to)


async def _counts(conn: AsyncConnection, query: ReportQuery) -> Counts:
    dimensions = (
        incidents.c.status,
        incidents.c.priority,
        incidents.c.category,
        incidents.c.assignment_group,
    )
    grouped = (
        sa.select(*dimensions, sa.func.count().label("n"))
        .where(_in_window(incidents.c.created_at, query), *_filters(query))
        .group_by(*dimensions)
    )
    by_status = Counter({status.value: 0 for status in Status})
    by_priority = Counter({priority.value: 0 for priority in Priority})
    by_category: Counter[str] = Counter()
    by_group: Counter[str] = Counter()
    for row in await conn.execute(grouped):
        by_status[row.status] += row.n
        by_priority[row.priority] += row.n
        by_category[row.category or NONE] += row.n
        by_group[row.assignment_group or NONE] += row.n
    return Counts(
        created=by_status.total(),
        by_status=dict(by_status),
        by_priority=dict(by_priority),
        by_category=dict(sorted(by_category.items())),
        by_group=dict(sorted(by_group.items())),
    )


async def _backlog(conn: AsyncConnection, query: ReportQuery) -> Backlog:
    """Open at `to`: created before it and neither resolved, closed nor canceled before it.
    The record keeps only the latest resolution, so an incident resolved at `to` but reopened
    and resolved again later counts as open then."""
    end = query.to
    still_open = [
        sa.or_(column.is_(None), column >= end)
        for column in (incidents.c.resolved_at, incidents.c.closed_at, incidents.c.canceled_at)
    ]
    # Youngest bucket first: an incident falls in the first bucket whose upper age bound (the
    # next bucket's lower bound) it is under, i.e. it was created after `to` minus that bound.
    upper_bounds = zip(AGE_BUCKETS, AGE_BUCKETS[1:], strict=False)
    bucket = sa.case(
        *((incidents.c.created_at > end - upper, label) for (label, _), (_, upper) in upper_bounds),
        else_=AGE_BUCKETS[-1][0],
    )
    counted = (
        sa.select(bucket.label("bucket"), sa.func.count().label("n"))
        .where(incidents.c.created_at < end, *still_open, *_filters(query))
        .group_by(bucket)
    )
    by_age = {label: 0 for label, _ in AGE_BUCKETS}
    for row in await conn.execute(counted):
        by_age[row.bucket] += row.n
    return Backlog(total=sum(by_age.values()), by_age=by_age)


async def _facts_of_events(conn: AsyncConnection, query: ReportQuery) -> list[_Facts]:
    """Incidents with a start, a resolution, a response-clock stop or a breach in the window:
    every incident that the per-event figures can count, found through indexed columns. Only
    the facts the figures need are read, not whole views."""
    moments = (
        incidents.c.started_at,
        incidents.c.resolved_at,
        incidents.c.response_stopped_at,
        incidents.c.response_breached_at,
        incidents.c.resolution_breached_at,
    )
    view = incidents.c.view
    selected = sa.select(
        incidents.c.number,
        incidents.c.priority,
        incidents.c.created_at,
        *moments,
        incidents.c.canceled_at,
        view["reopen_count"].as_integer().label("reopen_count"),
        view["reassignment_count"].as_integer().label("reassignment_count"),
        view["survey_score"].as_integer().label("survey_score"),
        view[("resolution_sla", "pause_seconds")].label("resolution_pauses"),
    ).where(sa.or_(*(_in_window(column, query) for column in moments)), *_filters(query))
    return [_Facts(**row) for row in (await conn.execute(selected)).mappings()]


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """What the per-event figures read of one incident: columns of its record, and the view's
    counts and the resolution clock's pause time per reason."""

    number: str
    priority: str
    created_at: datetime
    started_at: datetime | None
    resolved_at: datetime | None
    canceled_at: datetime | None
    response_stopped_at: datetime | None
    response_breached_at: datetime | None
    resolution_breached_at: datetime | None
    reopen_count: int
    reassignment_count: int
    survey_score: int | None
    resolution_pauses: dict[str, float]


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


@dataclass(frozen=True)
class _Outcome:
    breached: bool
    at: datetime


def _response_outcome(facts: _Facts) -> _Outcome | None:
    """Breached at `breached_at`; met when the clock stopped unbreached by a start or a resolve,
    that is, not by the cancel (a canceled incident that nobody responded to has no outcome)."""
    if facts.response_breached_at is not None:
        return _Outcome(breached=True, at=facts.response_breached_at)
    stopped = facts.response_stopped_at
    if stopped is not None and stopped != facts.canceled_at:
        return _Outcome(breached=False, at=stopped)
    return None


def _resolution_outcome(facts: _Facts) -> _Outcome | None:
    """Breached at `breached_at`; met at `resolved_at` when resolved (or closed) unbreached.
    Open, reopened and canceled incidents without a breach have no outcome yet."""
    if facts.resolution_breached_at is not None:
        return _Outcome(breached=True, at=facts.resolution_breached_at)
    if facts.resolved_at is not None:
        return _Outcome(breached=False, at=facts.resolved_at)
    return None


def _sla_report(
    facts: Sequence[_Facts], window: _Window, outcome_of: Callable[[_Facts], _Outcome | None]
) -> SlaReport:
    met: Counter[str] = Counter()
    breached: Counter[str] = Counter()
    for incident in facts:
        outcome = outcome_of(incident)
        if outcome is not None and window.holds(outcome.at):
            (breached if outcome.breached else met)[incident.priority] += 1
    return SlaReport(
        overall=_compliance(met.total(), breached.total()),
        by_priority={p.value: _compliance(met[p.value], breached[p.value]) for p in Priority},
    )


def _compliance(met: int, breached: int) -> SlaCompliance:
    total = met + breached
    return SlaCompliance(met=met, breached=breached, compliance=met / total if total else None)


def _breaches(facts: Sequence[_Facts], window: _Window) -> Breaches:
    response = {f.number for f in facts if window.holds(f.response_breached_at)}
    resolution = {f.number for f in facts if window.holds(f.resolution_breached_at)}
    return Breaches(
        response=len(response), resolution=len(resolution), incidents=len(response | resolution)
    )


def _response_seconds(facts: _Facts) -> float:
    assert facts.started_at is not None
    return (facts.started_at - facts.created_at).total_seconds()


def _resolution_seconds(facts: _Facts) -> float:
    assert facts.resolved_at is not None
    return (facts.resolved_at - facts.created_at).total_seconds()


def _pending_seconds(facts: _Facts) -> float:
    """Time the resolution clock stood still for pending reasons. Time spent resolved before a
    reopen is not subtracted: the caller was still without a working service."""
    pauses = facts.resolution_pauses.items()
    return sum(seconds for reason, seconds in pauses if reason != RESOLVED_PAUSE)


def _durations(values: Iterable[float]) -> DurationStats:
    seconds = list(values)
    if not seconds:
        return DurationStats(count=0, mean_seconds=None, median_seconds=None)
    return DurationStats(
        count=len(seconds),
        mean_seconds=statistics.fmean(seconds),
        median_seconds=statistics.median(seconds),
    )


def _ratio(count: int, total: int) -> Ratio:
    return Ratio(count=count, total=total, rate=count / total if total else None)


def _reassignments(resolved: Sequence[_Facts]) -> Reassignments:
    total = sum(v.reassignment_count for v in resolved)
    return Reassignments(
        incidents=len(resolved), total=total, mean=total / len(resolved) if resolved else None
    )


def _survey(resolved: Sequence[_Facts]) -> SurveyStats:
    scores = [v.survey_score for v in resolved if v.survey_score is not None]
    return SurveyStats(count=len(scores), mean=statistics.fmean(scores) if scores else None)
