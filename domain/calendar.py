"""Business-calendar arithmetic for SLA clocks: when the clock runs, and for how long.

A calendar is local wall-clock working hours on some weekdays, minus holidays, in one IANA
zone; the 24x7 calendar is always open. Workflow code imports this module, so it is pure:
no I/O beyond loading zone data, no clock reads. Every datetime in and out is aware UTC.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, field_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)([smhd])")
_DURATION = re.compile(rf"(?:{_DURATION_PART.pattern})+")
_ONE_DAY = timedelta(days=1)
# A calendar that has had no working time for this long never will: stop rather than spin.
_MAX_IDLE_DAYS = 366
_DAWN_OF_TIME = datetime.min.replace(tzinfo=UTC)


class Calendar(BaseModel, frozen=True):
    """When an SLA clock runs: `hours` on `weekdays` in `timezone`, except `holidays`."""

    name: str
    timezone: str = "UTC"
    weekdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    hours: tuple[str, str] = ("09:00", "17:00")
    holidays: tuple[date, ...] = ()
    always_open: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as error:
            raise ValueError(
                f"unknown timezone {value!r}: use an IANA name like 'Europe/Paris' or 'UTC'"
            ) from error
        return value

    @field_validator("weekdays")
    @classmethod
    def _known_weekdays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for day in value:
            if day.lower() not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}: use {', '.join(WEEKDAYS)}")
        if not value:
            raise ValueError("weekdays must name at least one day")
        return tuple(day.lower() for day in value)

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: tuple[str, str]) -> tuple[str, str]:
        for text in value:
            if not _CLOCK.fullmatch(text):
                raise ValueError(f"invalid hour {text!r}: use 'HH:MM' between 00:00 and 23:59")
        # Zero-padded "HH:MM" strings sort like the times they name.
        if value[0] >= value[1]:
            raise ValueError(f"opening hour {value[0]!r} must be before closing hour {value[1]!r}")
        return value


TWENTY_FOUR_SEVEN = Calendar(name="24x7", always_open=True)


def working_day_seconds(calendar: Calendar) -> float:
    """The working time in one working day: what a "1d" duration means on `calendar`."""
    if calendar.always_open:
        return 86400.0
    opens, closes = (_clock(text) for text in calendar.hours)
    return float((closes.hour - opens.hour) * 3600 + (closes.minute - opens.minute) * 60)


def working_seconds_between(calendar: Calendar, start: datetime, end: datetime) -> float:
    """The working time inside [start, end); 0.0 when `end` is not after `start`."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        return 0.0
    if calendar.always_open:
        return (end - start).total_seconds()
    worked = timedelta()
    for opens, closes in _working_intervals(calendar, _walk_from(calendar, start)):
        if opens >= end:
            break
        worked += max(min(closes, end) - max(opens, start), timedelta())
    return worked.total_seconds()


def add_working_seconds(calendar: Calendar, start: datetime, seconds: float) -> datetime:
    """The earliest instant by which `seconds` of working time have passed since `start`.

    For `seconds` > 0 the result is inside a working interval or at its closing edge, so a
    deadline never lands in the night, at a weekend or on a holiday.
    """
    start = _utc(start, "start")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"working seconds must be a finite number >= 0, got {seconds!r}")
    if seconds == 0:
        return start
    # Whole microseconds (timedelta) rather than floats, so that walking many days
    # accumulates no rounding and a deadline at a closing edge stays on that edge.
    remaining = timedelta(seconds=seconds)
    if calendar.always_open:
        return start + remaining
    for opens, closes in _working_intervals(calendar, _walk_from(calendar, start)):
        if closes <= start:
            continue
        counting_from = max(opens, start)
        if remaining <= closes - counting_from:
            return counting_from + remaining
        remaining -= closes - counting_from
    raise AssertionError("the working-interval walk ended, but it is endless or raises")


def is_working_instant(calendar: Calendar, instant: datetime) -> bool:
    """Whether the SLA clock runs at `instant` (opening edge included, closing edge not)."""
    instant = _utc(instant, "instant")
    if calendar.always_open:
        return True
    for opens, closes in _working_intervals(calendar, _walk_from(calendar, instant)):
        if instant < closes:
            return opens <= instant
    raise AssertionError("the working-interval walk ended, but it is endless or raises")


def parse_duration(text: str, calendar: Calendar) -> float:
    """The working seconds in a policy duration such as "45s", "1.5h", "1h30m" or "5d".

    "d" is one working day of `calendar` (8 hours on a 09:00-17:00 calendar), not 24 hours.
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}: write it as text, like '45s' or '4h'")
    compact = text.strip()
    if not _DURATION.fullmatch(compact):
        if compact.startswith("-") and _DURATION.fullmatch(compact[1:]):
            raise ValueError(f"duration {text!r} must be positive")
        raise ValueError(
            f"invalid duration {text!r}: use a number with s, m, h or d, like '45s' or '4h'"
        )
    unit_seconds = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": working_day_seconds(calendar)}
    total = sum(
        float(number) * unit_seconds[unit] for number, unit in _DURATION_PART.findall(compact)
    )
    if total <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return total


def _utc(instant: datetime, role: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{role} must be timezone-aware UTC, got naive {instant.isoformat()}")
    return instant.astimezone(UTC)


def _clock(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def _walk_from(calendar: Calendar, instant: datetime) -> date:
    # Two local days early: across odd zone transitions the previous local day's interval
    # can reach past `instant`, and that day needs its own predecessor for the clipping.
    return instant.astimezone(ZoneInfo(calendar.timezone)).date() - 2 * _ONE_DAY


def _working_intervals(calendar: Calendar, first_day: date) -> Iterator[tuple[datetime, datetime]]:
    """The UTC [opens, closes) working intervals from local `first_day` on, in order, forever.

    Raises ValueError once a whole year passes without working time.
    """
    zone = ZoneInfo(calendar.timezone)
    opens_at, closes_at = (_clock(text) for text in calendar.hours)
    weekdays = {WEEKDAYS.index(day) for day in calendar.weekdays}
    holidays = frozenset(calendar.holidays)
    previous_close = _DAWN_OF_TIME
    idle_days = 0
    day = first_day
    while idle_days <= _MAX_IDLE_DAYS:
        idle_days += 1
        if day.weekday() in weekdays and day not in holidays:
            # Clipping to the previous close keeps intervals disjoint and ordered even when
            # a zone transition (fold=0 in a gap) maps wall times out of order.
            opens = max(_local_to_utc(day, opens_at, zone), previous_close)
            closes = _local_to_utc(day, closes_at, zone)
            if opens < closes:
                idle_days = 0
                previous_close = closes
                yield opens, closes
        day += _ONE_DAY
    raise ValueError(f"calendar {calendar.name!r} has no working time in a whole year")


def _local_to_utc(day: date, wall_clock: time, zone: ZoneInfo) -> datetime:
    # fold=0: an ambiguous wall time means its first occurrence, and a wall time inside a
    # spring-forward gap is read with the offset before the gap (the UTC round trip then
    # lands after the jump), so local 09:00-17:00 is always the real hours between them.
    return datetime.combine(day, wall_clock, tzinfo=zone).astimezone(UTC)
