"""The summary report's SQL and its figures.

What each figure counts is defined in recordstore/reports/__init__.py.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.models import CloseCode, ResolutionCode, Status
from domain.policy import Priority
from recordstore.database import Database
from recordstore.reports.models import (
    Backlog,
    Breaches,
    Counts,
    DurationStats,
    Ratio,
    Reassignments,
    ReportQuery,
    SlaCompliance,
    SlaReport,
    SummaryReport,
    SurveyStats,
)
from recordstore.schema import incidents

NONE = "(none)"  # the dimension of incidents without a category or an assignment group
RESOLVED_PAUSE = "resolved"  # the resolution clock's pause reason while the incident is resolved
# Backlog age buckets: label and lower bound; each bucket runs up to the next one's bound.
AGE_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("<1d", timedelta(0)),
    ("1-3d", timedelta(days=1)),
    ("3-7d", timedelta(days=3)),
    ("7-30d", timedelta(days=7)),
    (">30d", timedelta(days=30)),
)


# Counted apart from the close codes: closed incidents the caller never answered for.
NO_RESPONSE = ResolutionCode.NO_RESPONSE.value
# Not first-contact resolutions, nor against them: resolved as another incident's duplicate.
NOT_FIRST_CONTACT = frozenset({ResolutionCode.DUPLICATE.value})


async def summary(
    database: Database, query: ReportQuery, now: datetime | None = None
) -> SummaryReport:
    """`now` (default: the clock) bounds the backlog's moment: `min(to, now)`."""
    backlog_at = min(query.to, now or datetime.now(UTC))
    # One transaction, so that every figure comes from the same snapshot.
    async with database.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            counts = await _counts(conn, query)
            backlog = await _backlog(conn, query, backlog_at)
            facts = await _facts_of_events(conn, query)
            closed = await _closed_by_code(conn, query)
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
        first_contact_resolution=_first_contact(resolved),
        backlog=backlog,
        survey=_survey(resolved),
        closed=closed,
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


async def _closed_by_code(conn: AsyncConnection, query: ReportQuery) -> dict[str, int]:
    """Every close code appears, with 0 when none."""
    code = incidents.c.view["close_code"].as_string().label("close_code")
    resolution = incidents.c.view["resolution_code"].as_string().label("resolution_code")
    grouped = (
        sa.select(code, resolution, sa.func.count().label("n"))
        .where(_in_window(incidents.c.closed_at, query), *_filters(query))
        .group_by(code, resolution)
    )
    counted = Counter({close_code.value: 0 for close_code in CloseCode} | {NO_RESPONSE: 0})
    for row in await conn.execute(grouped):
        key = NO_RESPONSE if row.resolution_code == NO_RESPONSE else row.close_code
        counted[key or NONE] += row.n
    return dict(counted)


async def _backlog(conn: AsyncConnection, query: ReportQuery, end: datetime) -> Backlog:
    """Open at `end` (`to`, or now if earlier): created before it and neither resolved, closed
    nor canceled before it. The record keeps only the latest resolution, so an incident
    resolved at `end` but reopened and resolved again later counts as open then."""
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
    return Backlog(total=sum(by_age.values()), by_age=by_age, as_of=end)


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
        view["resolved_by_parent"].as_boolean().label("resolved_by_parent"),
        view["resolution_code"].as_string().label("resolution_code"),
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
    resolved_by_parent: bool | None
    resolution_code: str | None
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


def _first_contact(resolved: Sequence[_Facts]) -> Ratio:
    """Resolved by the first group, of the incidents resolved on their own: one resolved by
    its parent or as a duplicate was not worked to a resolution at all."""
    own = [
        v
        for v in resolved
        if not v.resolved_by_parent and v.resolution_code not in NOT_FIRST_CONTACT
    ]
    return _ratio(sum(v.reassignment_count == 0 for v in own), len(own))


def _reassignments(resolved: Sequence[_Facts]) -> Reassignments:
    total = sum(v.reassignment_count for v in resolved)
    return Reassignments(
        incidents=len(resolved), total=total, mean=total / len(resolved) if resolved else None
    )


def _survey(resolved: Sequence[_Facts]) -> SurveyStats:
    scores = [v.survey_score for v in resolved if v.survey_score is not None]
    return SurveyStats(count=len(scores), mean=statistics.fmean(scores) if scores else None)
