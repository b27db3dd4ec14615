"""SLA clocks, escalation and auto-closure on durable timers, on the time-skipping server.

Time only moves forward on the shared test server, so each test first skips to the next
instant it needs (a Friday 16:30, the next spring DST change) and works from there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain import search_attributes as sa
from domain.calendar import working_seconds_between
from domain.models import Status, TimelineEntry
from domain.policy import Policy, parse_policy
from tests.support.factories import act, new_incident, start
from tests.support.factories import entries_of as entries
from tests.support.factories import view_of as view

FRIDAY = 4


def business_policy(holidays: tuple[str, ...] = (), timezone: str = "UTC") -> Policy:
    quoted = ", ".join(f'"{day}"' for day in holidays)
    return parse_policy(
        f'[calendars.business]\ntimezone = "{timezone}"\nholidays = [{quoted}]\n'
        '[closure]\nauto_close_after = "5d"\ncalendar = "business"\n'
    )


def next_weekday_at(
    after: datetime, weekday: int, hour: int, minute: int, tz: str = "UTC"
) -> datetime:
    local = after.astimezone(ZoneInfo(tz))
    day = local.date() + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz)).astimezone(UTC)


async def skip_to(env: WorkflowEnvironment, when: datetime) -> None:
    now = await env.get_current_time()
    assert when > now, f"cannot go back to {when} from {now}"
    await env.sleep(when - now)


async def open_at(
    env: WorkflowEnvironment, worker: Worker, when: datetime, policy: Policy, **fields: Any
) -> WorkflowHandle[Any, Any]:
    await skip_to(env, when)
    state = new_incident(policy=policy, now=when, **fields)
    return await start(env.client, worker.task_queue, state)


async def test_p3_opened_friday_1630_breaches_on_the_right_working_minute(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    friday = next_weekday_at(await time_env.get_current_time(), FRIDAY, 16, 30)
    handle = await open_at(time_env, time_worker, friday, business_policy(), impact=2, urgency=2)
    monday, tuesday, wednesday = (friday + timedelta(days=n) for n in (3, 4, 5))

    # Response: 4 working hours = Friday 30 min + Monday 09:00-12:30.
    await skip_to(time_env, monday.replace(hour=12, minute=29))
    assert not (await view(handle)).response_sla.breached_at
    await skip_to(time_env, monday.replace(hour=12, minute=31))
    breaches = await entries(handle, "sla_breach")
    assert [(b.details["clock"], b.at) for b in breaches] == [
        ("response", monday.replace(hour=12, minute=30))
    ]
    warnings = [
        (w.details["clock"], w.details["fraction"], w.at)
        for w in await entries(handle, "sla_warning")
    ]
    assert warnings == [
        ("response", 0.5, monday.replace(hour=10, minute=30)),
        ("response", 0.75, monday.replace(hour=11, minute=30)),
    ]
    described = (await handle.describe()).typed_search_attributes
    assert described.get(sa.INCIDENT_BREACHED) is True

    # Resolution: "3d" = 24 working hours: warnings Tue 12:30 (50%), escalation Wed 10:30 (75%),
    # warning Wed 10:30 (75%), breach Wed 16:30.
    await skip_to(time_env, wednesday.replace(hour=16, minute=31))
    resolution = [
        (e.kind, e.at)
        for e in await handle.query("timeline", result_type=list[TimelineEntry])
        if e.details.get("clock") == "resolution" or e.details.get("automatic")
    ]
    assert resolution == [
        ("sla_warning", tuesday.replace(hour=12, minute=30)),
        ("sla_warning", wednesday.replace(hour=10, minute=30)),
        ("escalated", wednesday.replace(hour=10, minute=30)),
        ("sla_breach", wednesday.replace(hour=16, minute=30)),
    ]
    final = await view(handle)
    assert (
        final.support_level == "L2" and final.assignment_group == "platform-l2" and final.breached
    )
    manager = [e for e in await entries(handle, "escalated") if e.details["kind"] == "hierarchical"]
    assert len(manager) == 2 and all(e.details["notify"] == ["incident-manager"] for e in manager)


async def test_a_holiday_is_skipped(time_env: WorkflowEnvironment, time_worker: Worker) -> None:
    friday = next_weekday_at(await time_env.get_current_time(), FRIDAY, 16, 30)
    monday = friday + timedelta(days=3)
    policy = business_policy(holidays=(monday.date().isoformat(),))
    handle = await open_at(time_env, time_worker, friday, policy, impact=2, urgency=2)
    assert (await view(handle)).response_sla.due_at == friday + timedelta(
        days=4, hours=-4
    )  # Tue 12:30
    await skip_to(time_env, friday + timedelta(days=4, hours=-3))
    assert [b.at for b in await entries(handle, "sla_breach")] == [
        friday + timedelta(days=4, hours=-4)
    ]


async def test_dst_change_in_paris_keeps_local_working_hours(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    now = await time_env.get_current_time()
    year = now.year + 1 if now.month >= 3 else now.year
    last_sunday = max(
        datetime(year, 3, d, tzinfo=UTC)
        for d in range(25, 32)
        if datetime(year, 3, d).weekday() == 6
    )
    paris = ZoneInfo("Europe/Paris")
    friday = datetime(year, 3, last_sunday.day - 2, 16, 0, tzinfo=paris)
    handle = await open_at(
        time_env,
        time_worker,
        friday.astimezone(UTC),
        business_policy(timezone="Europe/Paris"),
        impact=2,
        urgency=2,
    )
    # 4 working hours: Friday 16:00-17:00 (CET), Monday 09:00-12:00 (CEST).
    expected = datetime(year, 3, last_sunday.day + 1, 12, 0, tzinfo=paris)
    assert expected.utcoffset() == timedelta(hours=2) and friday.utcoffset() == timedelta(hours=1)
    await skip_to(time_env, expected.astimezone(UTC) + timedelta(minutes=1))
    breach = (await entries(handle, "sla_breach"))[0]
    assert breach.at == expected.astimezone(UTC)
    assert breach.at.astimezone(paris).hour == 12


async def test_a_pause_over_the_weekend_costs_no_working_time(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    friday = next_weekday_at(await time_env.get_current_time(), FRIDAY, 15, 0)
    handle = await open_at(time_env, time_worker, friday, business_policy(), impact=3, urgency=3)
    await act(handle, "assign", group="desk", assignee="sam")
    await act(handle, "start")
    await skip_to(time_env, friday + timedelta(hours=1))  # 16:00, 1 working hour used
    pended = await act(handle, "pend", reason="awaiting_vendor", note="RMA opened")
    assert pended.resolution_sla.elapsed_seconds == pytest.approx(3600, abs=1)
    assert pended.resolution_sla.due_at is None
    monday_10 = friday + timedelta(days=3, hours=-5)
    await skip_to(time_env, monday_10)
    resumed = await act(handle, "resume")
    clock = resumed.resolution_sla
    assert clock.elapsed_seconds == pytest.approx(3600, abs=1)
    paused = (monday_10 - (friday + timedelta(hours=1))).total_seconds()
    assert clock.pause_seconds["awaiting_vendor"] == pytest.approx(paused, abs=1)
    # P5: 10 business days = 80 working hours, of which 79 remain after the resume.
    assert clock.due_at is not None
    business = Policy().calendar("business")
    assert working_seconds_between(business, monday_10, clock.due_at) == pytest.approx(
        79 * 3600, abs=1
    )


async def test_priority_change_at_60_percent_keeps_the_time_used(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    opened = await time_env.get_current_time() + timedelta(seconds=1)
    handle = await open_at(
        time_env, time_worker, opened, Policy(), impact=1, urgency=1
    )  # P1, 4h, 24x7
    await act(handle, "assign", group="desk", assignee="sam")
    await act(handle, "start")
    await skip_to(time_env, opened + timedelta(hours=2, minutes=24))  # 60% of 4h
    changed_at = await time_env.get_current_time()
    lowered = await act(
        handle, "update", impact=2, urgency=1, reason="workaround in place"
    )  # P2, 8h
    assert lowered.priority == "P2"
    clock = lowered.resolution_sla
    assert abs(clock.elapsed_seconds - 2.4 * 3600) < 1
    assert clock.target_seconds == 8 * 3600
    assert clock.due_at is not None
    assert abs((clock.due_at - changed_at).total_seconds() - 5.6 * 3600) < 1
    # 50% of the new target (4h) is still ahead: fired once, at its new instant.
    await skip_to(time_env, opened + timedelta(hours=4, minutes=1))
    warnings = [
        w for w in await entries(handle, "sla_warning") if w.details["clock"] == "resolution"
    ]
    assert [w.details["fraction"] for w in warnings] == [0.5, 0.5]
    assert abs((warnings[1].at - (opened + timedelta(hours=4))).total_seconds()) < 1


async def test_raising_priority_past_the_new_target_breaches_at_once(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    opened = await time_env.get_current_time() + timedelta(seconds=1)
    handle = await open_at(time_env, time_worker, opened, Policy(), impact=1, urgency=2)  # P2, 8h
    await act(handle, "assign", group="desk", assignee="sam")
    await act(handle, "start")
    await skip_to(time_env, opened + timedelta(hours=4, minutes=48))  # 60% of 8h
    await act(handle, "update", urgency=1, reason="now company-wide")  # P1, 4h: already over
    await time_env.sleep(timedelta(seconds=1))
    current = await view(handle)
    assert current.priority == "P1" and current.breached and current.major
    assert [b.details["clock"] for b in await entries(handle, "sla_breach")] == ["resolution"]


async def test_reopen_resumes_the_clock_where_it_stopped(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    opened = await time_env.get_current_time() + timedelta(seconds=1)
    handle = await open_at(time_env, time_worker, opened, Policy(), impact=1, urgency=2)  # P2, 8h
    await act(handle, "assign", group="desk", assignee="sam")
    await act(handle, "start")
    await skip_to(time_env, opened + timedelta(hours=2))
    await act(handle, "resolve", resolution_code="fixed", resolution_notes="cleared cache")
    await skip_to(time_env, opened + timedelta(hours=12))  # past the 8h target while resolved
    assert not (await view(handle)).breached
    reopened = await act(handle, "reopen", reason="back again")
    clock = reopened.resolution_sla
    assert abs(clock.elapsed_seconds - 7200) < 1 and clock.pause_seconds[
        "resolved"
    ] == pytest.approx(10 * 3600, abs=1)
    assert clock.due_at is not None
    assert abs((clock.due_at - (opened + timedelta(hours=18))).total_seconds()) < 1


async def test_auto_close_fires_at_the_period_and_not_after_a_reopen(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    monday = next_weekday_at(await time_env.get_current_time(), 0, 10, 0)
    policy = business_policy()
    closing = await open_at(time_env, time_worker, monday, policy, impact=2, urgency=2)
    reopening = await start(
        time_env.client, time_worker.task_queue, new_incident(policy=policy, now=monday)
    )
    for handle in (closing, reopening):
        await act(handle, "assign", group="desk", assignee="sam")
        await act(handle, "resolve", resolution_code="fixed", resolution_notes="done")
    resolved_at = (await view(closing)).resolved_at
    assert resolved_at is not None
    due = resolved_at + timedelta(days=7)  # 5 business days: the same time next Monday
    await skip_to(time_env, monday + timedelta(days=2))
    await act(reopening, "reopen", reason="not fixed")

    await skip_to(time_env, due - timedelta(seconds=1))
    assert (await view(closing)).status == Status.RESOLVED
    await skip_to(time_env, due + timedelta(seconds=1))
    final = await closing.result()
    assert final.status == Status.CLOSED and final.close_code == "auto" and final.closed_at == due
    assert (await view(reopening)).status == Status.IN_PROGRESS


async def test_starting_work_stops_the_response_clock(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    opened = await time_env.get_current_time() + timedelta(seconds=1)
    handle = await open_at(
        time_env, time_worker, opened, Policy(), impact=1, urgency=1
    )  # P1: 15 min
    await act(handle, "assign", group="desk", assignee="sam")
    await skip_to(time_env, opened + timedelta(minutes=10))
    started = await act(handle, "start")
    assert started.response_sla.stopped_at is not None
    await skip_to(time_env, opened + timedelta(minutes=20))
    assert [b.details["clock"] for b in await entries(handle, "sla_breach")] == []
    warnings = [w.details["fraction"] for w in await entries(handle, "sla_warning")]
    assert warnings == [0.5]  # 7.5 min passed before the start at 10 min; 11.25 min never came
