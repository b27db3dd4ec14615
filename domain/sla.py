"""SLA clock arithmetic: pure functions over `SlaClock`, shared by the workflow and the API.

A clock stores the working time used before `running_since`; everything else is derived, so a
pause, a priority change or a continue-as-new never loses time already spent.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.calendar import Calendar, add_working_seconds, working_seconds_between
from domain.models import SlaClock


def new_clock(name: str, target_seconds: float, calendar: str, now: datetime) -> SlaClock:
    return SlaClock(name=name, target_seconds=target_seconds, calendar=calendar, running_since=now)


def elapsed(clock: SlaClock, calendar: Calendar, now: datetime) -> float:
    if clock.running_since is None:
        return clock.elapsed_seconds
    return clock.elapsed_seconds + working_seconds_between(calendar, clock.running_since, now)


def pause(clock: SlaClock, calendar: Calendar, now: datetime, reason: str) -> None:
    if clock.running_since is None:
        return
    clock.elapsed_seconds = elapsed(clock, calendar, now)
    clock.running_since = None
    clock.paused_since = now
    clock.pause_reason = reason
    clock.due_at = None


def resume(clock: SlaClock, calendar: Calendar, now: datetime) -> None:
    if clock.stopped_at is not None or clock.running_since is not None:
        return
    if clock.paused_since is not None and clock.pause_reason is not None:
        paused_for = (now - clock.paused_since).total_seconds()
        clock.pause_seconds[clock.pause_reason] = (
            clock.pause_seconds.get(clock.pause_reason, 0.0) + paused_for
        )
    clock.paused_since = None
    clock.pause_reason = None
    clock.running_since = now
    refresh_due(clock, calendar)


def stop(clock: SlaClock, calendar: Calendar, now: datetime) -> None:
    if clock.stopped_at is not None:
        return
    if clock.running_since is not None:
        clock.elapsed_seconds = elapsed(clock, calendar, now)
    clock.running_since = None
    clock.stopped_at = now
    clock.due_at = None


def retarget(
    clock: SlaClock,
    used_on: Calendar,
    calendar_name: str,
    calendar: Calendar,
    target_seconds: float,
    now: datetime,
) -> None:
    """A priority change keeps the working time used (counted on `used_on`, the calendar the
    clock ran on) and measures it against the new target on the new calendar. A clock that
    stopped keeps its outcome; thresholds already crossed are not announced again."""
    if clock.stopped_at is not None:
        return
    clock.elapsed_seconds = elapsed(clock, used_on, now)
    if clock.running_since is not None:
        clock.running_since = now
    clock.calendar = calendar_name
    clock.target_seconds = target_seconds
    clock.warnings_fired = [
        f for f in clock.warnings_fired if elapsed(clock, calendar, now) >= f * target_seconds
    ]
    refresh_due(clock, calendar)


def moment(clock: SlaClock, calendar: Calendar, fraction: float) -> datetime | None:
    """When the clock reaches `fraction` of its target, if it runs uninterrupted from now on."""
    if clock.running_since is None:
        return None
    still_to_use = max(0.0, fraction * clock.target_seconds - clock.elapsed_seconds)
    return add_working_seconds(calendar, clock.running_since, still_to_use)


def refresh_due(clock: SlaClock, calendar: Calendar) -> None:
    clock.due_at = moment(clock, calendar, 1.0)


class ClockStatus(BaseModel):
    """What a user sees of a clock at a given instant."""

    name: str
    target_seconds: float
    calendar: str
    state: str  # running, paused, met, breached_running, breached_stopped
    due_at: datetime | None
    elapsed_seconds: float
    remaining_seconds: float
    paused_since: datetime | None
    pause_reason: str | None
    pause_seconds: dict[str, float]
    warnings_fired: list[float]
    breached: bool
    breached_at: datetime | None


def status(clock: SlaClock, calendar: Calendar, now: datetime) -> ClockStatus:
    used = elapsed(clock, calendar, now)
    breached = clock.breached_at is not None or used >= clock.target_seconds
    if clock.stopped_at is not None:
        state = "breached" if breached else "met"
    elif clock.running_since is None:
        state = "paused"
    else:
        state = "breached" if breached else "running"
    return ClockStatus(
        name=clock.name,
        target_seconds=clock.target_seconds,
        calendar=clock.calendar,
        state=state,
        due_at=clock.due_at,
        elapsed_seconds=round(used, 3),
        remaining_seconds=round(clock.target_seconds - used, 3),
        paused_since=clock.paused_since,
        pause_reason=clock.pause_reason,
        pause_seconds=clock.pause_seconds,
        warnings_fired=clock.warnings_fired,
        breached=breached,
        breached_at=clock.breached_at,
    )
