"""Chasing a caller who does not answer (issue 15), on the time-skipping server: reminders
every `[pending].remind_after` of business time, then `no_response`; a reply stops it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.models import Status
from domain.policy import Policy, parse_policy
from tests.support.factories import act, new_incident, start
from tests.support.factories import entries_of as entries
from tests.support.factories import view_of as view
from tests.workflows.test_sla import FRIDAY, next_weekday_at, skip_to


def chasing_policy() -> Policy:
    return parse_policy(
        '[pending]\nremind_after = "4h"\nreminders = 2\ncalendar = "business"\n'
        '[closure]\nauto_close_after = "1d"\ncalendar = "business"\n'
    )


async def pending_on_the_caller(
    time_env: WorkflowEnvironment, time_worker: Worker, at: datetime
) -> WorkflowHandle[Any, Any]:
    """An incident opened, started by sam and pended on its caller at `at`."""
    await skip_to(time_env, at)
    state = new_incident(policy=chasing_policy(), now=at, impact=3, urgency=3)
    handle = await start(time_env.client, time_worker.task_queue, state)
    await act(handle, "assign", group="service-desk", assignee="sam", actor="sam")
    await act(handle, "start", actor="sam")
    await act(handle, "pend", reason="awaiting_caller", note="Which laptop?", actor="sam")
    return handle


async def test_two_reminders_at_exact_business_instants_then_no_response(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    friday = next_weekday_at(await time_env.get_current_time(), FRIDAY, 15, 0)
    handle = await pending_on_the_caller(time_env, time_worker, friday)
    (pend,) = await entries(handle, "pend")
    lag = pend.at - friday  # the wait starts a few milliseconds after 15:00
    monday, tuesday = friday + timedelta(days=3) + lag, friday + timedelta(days=4) + lag

    # 4 working hours from Friday 15:00 (09:00-17:00): Friday 2h + Monday 2h = Monday 11:00.
    await skip_to(time_env, monday.replace(hour=10, minute=59, second=59))
    assert await entries(handle, "caller_reminder") == []
    await skip_to(time_env, monday.replace(hour=15, minute=1))
    reminders = await entries(handle, "caller_reminder")
    assert [(r.at, r.details["reminder"]) for r in reminders] == [
        (monday.replace(hour=11, minute=0), 1),
        (monday.replace(hour=15, minute=0), 2),
    ]
    assert all(r.details["notify"] == ["alice"] for r in reminders)
    assert (await view(handle)).status == Status.PENDING

    # A third period of 4 working hours unanswered: Tuesday 11:00, resolved no_response.
    await skip_to(time_env, tuesday.replace(hour=11, minute=1))
    resolved = await view(handle)
    assert (resolved.status, resolved.resolution_code) == (Status.RESOLVED, "no_response")
    (resolve,) = await entries(handle, "resolve")
    assert resolve.at == tuesday.replace(hour=11, minute=0) and resolve.actor == "system"
    # Auto-close follows as usual (one business day later).
    await skip_to(time_env, tuesday + timedelta(days=1, hours=1))
    assert (await view(handle)).close_code == "auto"


async def test_a_caller_reply_stops_the_chase_and_a_new_pend_starts_it_again(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    friday = next_weekday_at(await time_env.get_current_time(), FRIDAY, 9, 0)
    handle = await pending_on_the_caller(time_env, time_worker, friday)
    await skip_to(time_env, friday.replace(hour=13, minute=1))
    assert len(await entries(handle, "caller_reminder")) == 1

    replied = await act(handle, "comment", text="The grey one", visibility="public", actor="alice")
    assert replied.status == Status.IN_PROGRESS
    await skip_to(time_env, friday + timedelta(days=5))
    assert len(await entries(handle, "caller_reminder")) == 1  # stopped
    assert (await view(handle)).status == Status.IN_PROGRESS

    # Pending on the caller again: the count starts afresh from the new wait.
    again = await time_env.get_current_time()
    await act(handle, "pend", reason="awaiting_caller", note="And the serial?", actor="sam")
    await skip_to(time_env, again + timedelta(days=3))
    reminders = await entries(handle, "caller_reminder")
    assert [r.details["reminder"] for r in reminders] == [1, 1, 2]


async def test_a_policy_without_pending_keys_never_chases(
    time_env: WorkflowEnvironment, time_worker: Worker
) -> None:
    now = await time_env.get_current_time()
    handle = await start(time_env.client, time_worker.task_queue, new_incident(now=now))
    await act(handle, "assign", group="service-desk", assignee="sam", actor="sam")
    await act(handle, "start", actor="sam")
    await act(handle, "pend", reason="awaiting_caller", note="Which laptop?", actor="sam")
    await skip_to(time_env, now + timedelta(days=30))
    assert await entries(handle, "caller_reminder") == []
    assert (await view(handle)).status == Status.PENDING
