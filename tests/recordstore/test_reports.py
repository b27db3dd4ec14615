"""The summary report against brute force, on SQLite and PostgreSQL.

A seeded generator lives 240 incidents through the real domain (transitions, SLA timers,
escalations, auto-close) over 60 days and stores their views. Each figure is then recomputed
here with plain loops over those views, following the definitions in recordstore/reports/.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from domain import lifecycle, relations, timers
from domain.models import (
    Action,
    ActionRequest,
    AssignRequest,
    CancelRequest,
    CloseCode,
    CloseRequest,
    IncidentCreate,
    IncidentRecord,
    IncidentState,
    IncidentView,
    PendingReason,
    PendRequest,
    ReopenRequest,
    ResolutionCode,
    ResolveRequest,
    ResumeRequest,
    StartRequest,
    Status,
    UpdateRequest,
)
from domain.policy import MajorPolicy, PendingPolicy, Policy, Priority
from recordstore import RecordStore
from recordstore.reports import ReportQuery, SummaryReport, summary
from recordstore.reports.models import hours_minutes
from tests.support.stores import BACKENDS, fresh_store

END = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)  # "now" for the generated records
START = END - timedelta(days=60)
DAY = timedelta(days=1)
# No major incidents: their half-hourly stakeholder updates would only slow the simulation.
# Callers pending on are chased, so that some incidents resolve with no_response.
POLICY = Policy(
    major=MajorPolicy(priorities=()),
    pending=PendingPolicy(remind_after="20m", reminders=1, calendar="24x7"),
)
GROUPS = ["service-desk", "network-l1", "dba-l1", "apps", "platform-l2"]
CATEGORIES = ["network", "database", "email", "hardware", None]
OPEN = {Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.PENDING}


# --- the generated incidents ------------------------------------------------------------------


def _next_action(rng: random.Random, state: IncidentState) -> tuple[Action, ActionRequest] | None:
    """A plausible next step for the incident's status; None ends its story."""
    group = rng.choice(GROUPS)
    roll = rng.random()
    match state.status:
        case Status.NEW:
            if roll < 0.08:
                return Action.CANCEL, CancelRequest(reason="raised twice")
            return Action.ASSIGN, AssignRequest(group=group)
        case Status.ASSIGNED:
            if roll < 0.6:
                return Action.START, StartRequest(assignee=f"agent-{rng.randint(1, 9)}")
            if roll < 0.75:
                return Action.ASSIGN, AssignRequest(group=group, assignee="agent-1")
            if roll < 0.85:
                return Action.RESOLVE, _resolve(rng, state)
            if roll < 0.9:
                return Action.CANCEL, CancelRequest(reason="not an incident")
            return Action.UPDATE, _reprioritise(rng, state)
        case Status.IN_PROGRESS:
            if roll < 0.25:
                reason = rng.choice([*PendingReason, PendingReason.AWAITING_CALLER])
                return Action.PEND, PendRequest(reason=reason, note="waiting")
            if roll < 0.35:
                return Action.ASSIGN, AssignRequest(group=group)
            if roll < 0.4:
                return Action.CANCEL, CancelRequest(reason="caller withdrew it")
            if roll < 0.45:
                return Action.UPDATE, _reprioritise(rng, state)
            return Action.RESOLVE, _resolve(rng, state)
        case Status.PENDING:
            if roll < 0.7:
                return Action.RESUME, ResumeRequest()
            return Action.RESOLVE, _resolve(rng, state)
        case Status.RESOLVED:
            if roll < 0.25:
                return Action.REOPEN, ReopenRequest(reason="still broken")
            if roll < 0.65:
                if roll < 0.35:  # an agent closes for the caller
                    return Action.CLOSE, CloseRequest(on_behalf_of_caller=True, note="by phone")
                return Action.CLOSE, CloseRequest()
            return None  # left to auto-close, or still waiting at the end
    return None


def _resolve(rng: random.Random, state: IncidentState) -> ResolveRequest:
    code = rng.choice([ResolutionCode.FIXED, ResolutionCode.WORKAROUND, ResolutionCode.DUPLICATE])
    original = f"INC{rng.randint(1, 240):07d}" if code == ResolutionCode.DUPLICATE else None
    if original == state.number:
        original = "INC0000241"
    return ResolveRequest(
        resolution_code=code, resolution_notes="restarted the service", duplicate_of=original
    )


def _resolved_by_parent(rng: random.Random, state: IncidentState, now: datetime) -> None:
    """A parent's resolution cascades to the incident (relations.resolve_from_parent)."""
    parent = relations.ParentResolved(
        parent="INC0000999",
        group=None,
        resolution_code=ResolutionCode.FIXED,
        resolution_notes="the parent was fixed",
        request_id=f"INC0000999/{rng.randint(1, 10**6)}",
    )
    relations.resolve_from_parent(state, parent, now)


def _reprioritise(rng: random.Random, state: IncidentState) -> UpdateRequest:
    impact = rng.choice([i for i in (1, 2, 3) if i != state.impact])
    return UpdateRequest(impact=impact, reason="impact re-assessed")


def _gap(rng: random.Random) -> timedelta:
    """Minutes to days: enough spread that some SLA clocks breach and others are met."""
    scale = rng.choice([300, 900, 3_600, 4 * 3_600, 86_400, 3 * 86_400])
    return timedelta(seconds=rng.expovariate(1 / scale))


def _live(rng: random.Random, number: int) -> IncidentView:
    created = START + timedelta(seconds=rng.uniform(0, 60 * 86_400))
    create = IncidentCreate(
        short_description=f"incident {number}",
        impact=rng.choice([1, 2, 2, 3, 3]),
        urgency=rng.choice([1, 2, 2, 3, 3]),
        category=rng.choice(CATEGORIES),
    )
    caller = f"caller-{number % 17}"
    state = lifecycle.open_incident(f"INC{number:07d}", create, caller, caller, POLICY, created)
    now = created
    for _ in range(rng.randint(0, 12)):
        now += _gap(rng)
        if now >= END:
            break
        timers.fire_due(state, now)  # breaches, escalations, auto-close: as the timers would
        if state.status in lifecycle.WORKING and rng.random() < 0.06:
            _resolved_by_parent(rng, state, now)
            continue
        step = _next_action(rng, state)
        if step is None:
            break
        try:
            lifecycle.apply(state, *step, now)
        except ApplicationError:
            pass  # a transition the state does not allow after a timer fired
    timers.fire_due(state, END)
    view = lifecycle.view(state)
    if view.status == Status.CLOSED and rng.random() < 0.6:
        view.survey_score = rng.randint(1, 5)
    return view


@cache
def incidents() -> tuple[IncidentView, ...]:
    rng = random.Random(20260504)
    return tuple(_live(rng, number) for number in range(1, 241))


def test_the_generated_incidents_cover_what_the_report_measures() -> None:
    views = incidents()
    assert {v.status for v in views} == set(Status)
    assert {v.priority for v in views} == set(Priority)
    pause_reasons = {r for v in views for r in v.resolution_sla.pause_seconds}
    assert {reason.value for reason in PendingReason} | {"resolved"} <= pause_reasons
    assert sum(v.reopen_count > 0 for v in views) >= 10
    assert sum(v.reassignment_count > 0 for v in views) >= 20
    assert sum(v.response_sla.breached_at is not None for v in views) >= 20
    assert sum(v.resolution_sla.breached_at is not None for v in views) >= 20
    assert sum(v.survey_score is not None for v in views) >= 20
    assert sum(v.resolved_at is not None and v.started_at is None for v in views) >= 3
    assert sum(v.resolved_by_parent for v in views) >= 5
    assert sum(v.resolution_code == ResolutionCode.DUPLICATE for v in views) >= 5
    assert sum(v.duplicate_of is not None for v in views) >= 5
    closed_unanswered = [v for v in views if v.close_code and v.resolution_code == "no_response"]
    assert len(closed_unanswered) >= 3
    assert {v.close_code for v in views} == {*CloseCode, None}
    assert max(v.created_at for v in views) - min(v.created_at for v in views) > 55 * DAY


# --- brute force ------------------------------------------------------------------------------


def within(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def h_mm(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    minutes = int(seconds // 60) + (1 if seconds % 60 >= 30 else 0)
    return f"{minutes // 60}:{minutes % 60:02d}"


def durations(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {
            "count": 0,
            "mean_seconds": None,
            "median_seconds": None,
            "mean_text": None,
            "median_text": None,
        }
    mean, median = sum(seconds) / len(seconds), statistics.median(seconds)
    return {
        "count": len(seconds),
        "mean_seconds": mean,
        "median_seconds": median,
        "mean_text": h_mm(mean),
        "median_text": h_mm(median),
    }


def rate(count: int, total: int) -> dict[str, Any]:
    return {"count": count, "total": total, "rate": count / total if total else None}


def sla(views: list[IncidentView], start: datetime, end: datetime, clock: str) -> dict[str, Any]:
    met = dict.fromkeys(Priority, 0)
    breached = dict.fromkeys(Priority, 0)
    for v in views:
        sla_clock = v.response_sla if clock == "response" else v.resolution_sla
        if sla_clock.breached_at is not None:
            if within(sla_clock.breached_at, start, end):
                breached[v.priority] += 1
        elif clock == "response":
            stopped = sla_clock.stopped_at
            if stopped is not None and stopped != v.canceled_at and within(stopped, start, end):
                met[v.priority] += 1
        elif within(v.resolved_at, start, end):
            met[v.priority] += 1

    def figures(m: int, b: int) -> dict[str, Any]:
        return {"met": m, "breached": b, "compliance": m / (m + b) if m + b else None}

    return {
        "overall": figures(sum(met.values()), sum(breached.values())),
        "by_priority": {p.value: figures(met[p], breached[p]) for p in Priority},
    }


def backlog(views: list[IncidentView], end: datetime) -> dict[str, Any]:
    """Open at `end`, by age then (the caller passes min(to, now))."""
    buckets = {"<1d": 0, "1-3d": 0, "3-7d": 0, "7-30d": 0, ">30d": 0}
    for v in views:
        ended = [t for t in (v.resolved_at, v.closed_at, v.canceled_at) if t is not None]
        if v.created_at >= end or any(t < end for t in ended):
            continue
        age_days = (end - v.created_at).total_seconds() / 86_400
        if age_days < 1:
            buckets["<1d"] += 1
        elif age_days < 3:
            buckets["1-3d"] += 1
        elif age_days < 7:
            buckets["3-7d"] += 1
        elif age_days < 30:
            buckets["7-30d"] += 1
        else:
            buckets[">30d"] += 1
    return {
        "total": sum(buckets.values()),
        "by_age": buckets,
        "as_of": end.isoformat().replace("+00:00", "Z"),
    }


def closes(views: list[IncidentView], start: datetime, end: datetime) -> dict[str, int]:
    """Closed in the window by close code; those resolved for want of an answer apart."""
    counted = {c.value: 0 for c in CloseCode} | {"no_response": 0}
    for v in views:
        if v.close_code and within(v.closed_at, start, end):
            no_answer = v.resolution_code == ResolutionCode.NO_RESPONSE
            counted["no_response" if no_answer else v.close_code.value] += 1
    return counted


def brute_force(
    start: datetime,
    end: datetime,
    group: str | None = None,
    priority: Priority | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    views = [
        v
        for v in incidents()
        if (group is None or v.assignment_group == group)
        and (priority is None or v.priority == priority)
    ]
    created = [v for v in views if within(v.created_at, start, end)]
    started = [v for v in views if within(v.started_at, start, end)]
    resolved = [v for v in views if within(v.resolved_at, start, end)]

    def tally(values: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for value in values:
            counts[value] = counts.get(value, 0) + 1
        return counts

    mttr, mttr_with_pauses = [], []
    for v in resolved:
        assert v.resolved_at is not None
        wall = (v.resolved_at - v.created_at).total_seconds()
        pending = 0.0
        for reason, seconds in v.resolution_sla.pause_seconds.items():
            if reason != "resolved":
                pending += seconds
        mttr.append(wall - pending)
        mttr_with_pauses.append(wall)
    response_breached = {v.number for v in views if within(v.response_sla.breached_at, start, end)}
    resolution_breached = {
        v.number for v in views if within(v.resolution_sla.breached_at, start, end)
    }
    reassignments = sum(v.reassignment_count for v in resolved)
    on_their_own = [
        v
        for v in resolved
        if not v.resolved_by_parent and v.resolution_code != ResolutionCode.DUPLICATE
    ]
    scores = [v.survey_score for v in resolved if v.survey_score is not None]
    return {
        "counts": {
            "created": len(created),
            "by_status": {s.value: 0 for s in Status} | tally([v.status.value for v in created]),
            "by_priority": {p.value: 0 for p in Priority}
            | tally([v.priority.value for v in created]),
            "by_category": tally([v.category or "(none)" for v in created]),
            "by_group": tally([v.assignment_group or "(none)" for v in created]),
        },
        "mtta": durations([(v.started_at - v.created_at).total_seconds() for v in started]),  # type: ignore[operator]
        "mttr": durations(mttr),
        "mttr_with_pauses": durations(mttr_with_pauses),
        "response_sla": sla(views, start, end, "response"),
        "resolution_sla": sla(views, start, end, "resolution"),
        "breaches": {
            "response": len(response_breached),
            "resolution": len(resolution_breached),
            "incidents": len(response_breached | resolution_breached),
        },
        "resolved": len(resolved),
        "reopen_rate": rate(sum(1 for v in resolved if v.reopen_count > 0), len(resolved)),
        "reassignments": {
            "incidents": len(resolved),
            "total": reassignments,
            "mean": reassignments / len(resolved) if resolved else None,
        },
        "first_contact_resolution": rate(
            sum(1 for v in on_their_own if v.reassignment_count == 0), len(on_their_own)
        ),
        "backlog": backlog(views, min(end, now) if now else end),
        "survey": {"count": len(scores), "mean": sum(scores) / len(scores) if scores else None},
        "closed": closes(views, start, end),
    }


def approx(value: Any) -> Any:
    """pytest.approx for every float in a nested structure; the rest compares exactly."""
    if isinstance(value, dict):
        return {key: approx(item) for key, item in value.items()}
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-6)
    return value


# --- the stores -------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS, scope="module")
async def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RecordStore]:
    """Both backends, holding the generated incidents (read-only for the tests below)."""
    async with fresh_store(request.param, request, tmp_path_factory.mktemp("reports")) as store:
        for view in incidents():
            record = IncidentRecord(view=view, timeline_start=0, new_entries=[])
            await store.upsert_incident(record)
        yield store


WINDOWS = {
    "all 60 days": (START - DAY, END + DAY),
    "one week": (START + 20 * DAY, START + 27 * DAY),
    "one day": (START + 41 * DAY, START + 42 * DAY),
    "first half": (START, START + 30 * DAY),
    "ends early, long backlog": (START - 10 * DAY, START + 45 * DAY + timedelta(hours=7)),
    "nothing yet": (START - 30 * DAY, START - 20 * DAY),
}


@pytest.mark.parametrize("window", WINDOWS)
async def test_figures_match_brute_force(filled: RecordStore, window: str) -> None:
    start, end = WINDOWS[window]
    report = await summary(filled.database, ReportQuery(from_=start, to=end))
    expected = brute_force(start, end)
    assert report.model_dump(mode="json", exclude={"window"}) == approx(expected)


async def test_the_backlog_is_measured_now_when_to_lies_ahead(filled: RecordStore) -> None:
    start, end = WINDOWS["all 60 days"]
    now = START + 40 * DAY + timedelta(hours=5)
    report = await summary(filled.database, ReportQuery(from_=start, to=end), now)
    expected = brute_force(start, end, now=now)
    assert report.model_dump(mode="json", exclude={"window"}) == approx(expected)
    assert report.backlog.as_of == now and report.backlog != brute_force(start, end)["backlog"]


def test_durations_read_as_hours_and_minutes() -> None:
    assert [hours_minutes(s) for s in (None, 0, 29.9, 30, 3_599, 3_600, 180_000)] == [
        None, "0:00", "0:00", "0:01", "1:00", "1:00", "50:00"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("group", "priority"),
    [("service-desk", None), ("platform-l2", None), (None, Priority.P3), ("apps", Priority.P4)],
)
async def test_filters_match_brute_force(
    filled: RecordStore, group: str | None, priority: Priority | None
) -> None:
    start, end = START + 5 * DAY, START + 50 * DAY
    query = ReportQuery(from_=start, to=end, group=group, priority=priority)
    report = await summary(filled.database, query)
    expected = brute_force(start, end, group, priority)
    assert expected["counts"]["created"] > 0  # the filter keeps something to compare
    assert report.model_dump(mode="json", exclude={"window"}) == approx(expected)


async def test_a_window_of_dates_covers_whole_days(filled: RecordStore) -> None:
    query = ReportQuery.model_validate({"from": "2026-04-01", "to": "2026-04-10"})
    assert query.from_ == datetime(2026, 4, 1, tzinfo=UTC)
    assert query.to == datetime(2026, 4, 11, tzinfo=UTC)
    report = await summary(filled.database, query)
    expected = brute_force(query.from_, query.to)
    assert report.model_dump(mode="json", exclude={"window"}) == approx(expected)
    assert report.model_dump(mode="json")["window"] == {
        "from": "2026-04-01T00:00:00Z",
        "to": "2026-04-11T00:00:00Z",
        "group": None,
        "priority": None,
    }


def test_the_query_reads_times_as_utc_and_refuses_a_reversed_window() -> None:
    query = ReportQuery.model_validate({"from": "2026-04-01T10:00:00", "to": "2026-04-01T12:00"})
    assert query.from_ == datetime(2026, 4, 1, 10, tzinfo=UTC)
    shifted = ReportQuery.model_validate({"from": "2026-04-01T10:00+02:00", "to": "2026-04-02"})
    assert shifted.from_ == datetime(2026, 4, 1, 8, tzinfo=UTC)
    with pytest.raises(ValidationError) as reversed_window:
        ReportQuery.model_validate({"from": "2026-04-02", "to": "2026-04-01T23:00"})
    assert reversed_window.value.errors()[0]["loc"] == ("to",)
    for start, end, field in [
        ("yesterday", "2026-04-01", "from"),
        ("0001-01-01T00:00+14:00", "2026-04-01", "from"),
        ("2026-04-01", "9999-12-31", "to"),
    ]:
        with pytest.raises(ValidationError) as bad:
            ReportQuery.model_validate({"from": start, "to": end})
        assert bad.value.errors()[0]["loc"] == (field,)
    with pytest.raises(ValidationError):
        ReportQuery.model_validate({"from": "2026-04-01", "to": "2026-04-02", "group": "a\x00"})


async def test_csv_rows_carry_every_figure(filled: RecordStore) -> None:
    start, end = WINDOWS["one week"]
    report = await summary(filled.database, ReportQuery(from_=start, to=end))
    rows = {(metric, dimension): value for metric, dimension, value in report.rows()}
    assert len(rows) == len(report.rows())  # no two rows share a name
    assert rows[("created", "all")] == report.counts.created
    assert rows[("mttr_seconds", "median")] == report.mttr.median_seconds
    assert rows[("resolution_sla_compliance", "P2")] == (
        report.resolution_sla.by_priority["P2"].compliance
    )
    assert rows[("backlog", "7-30d")] == report.backlog.by_age["7-30d"]
    assert SummaryReport.model_validate(report.model_dump(mode="json")) == report
