"""SLA calendar arithmetic as an SLA user sees it: concrete due dates, then properties."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import (
    TWENTY_FOUR_SEVEN,
    WEEKDAYS,
    Calendar,
    add_working_seconds,
    is_working_instant,
    parse_duration,
    working_day_seconds,
    working_seconds_between,
)

HOUR = 3600.0
BUSINESS = Calendar(name="business")
PARIS = Calendar(
    name="paris-office",
    timezone="Europe/Paris",
    holidays=(date(2026, 5, 1), date(2026, 7, 14), date(2026, 12, 25), date(2027, 1, 1)),
)
NEW_YORK_NIGHTS = Calendar(
    name="ny-night-shift",
    timezone="America/New_York",
    weekdays=("sun", "mon", "tue", "wed", "thu"),
    hours=("22:00", "23:59"),
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- 24x7 -------------------------------------------------------------------------------


def test_24x7_adds_real_time_at_any_hour() -> None:
    saturday_night = utc(2026, 11, 21, 3, 17, 5)
    assert add_working_seconds(TWENTY_FOUR_SEVEN, saturday_night, 4 * HOUR) == utc(
        2026, 11, 21, 7, 17, 5
    )
    assert working_seconds_between(TWENTY_FOUR_SEVEN, saturday_night, utc(2026, 11, 23)) == (
        44 * HOUR + 42 * 60 + 55
    )
    assert parse_duration("1d", TWENTY_FOUR_SEVEN) == 86400
    assert is_working_instant(TWENTY_FOUR_SEVEN, saturday_night)


# --- business hours, Mon-Fri 09:00-17:00 UTC --------------------------------------------


def test_p3_resolution_of_three_working_days_from_friday_afternoon() -> None:
    friday_1630 = utc(2026, 11, 20, 16, 30)
    # Friday 30 min, Monday 8 h, Tuesday 8 h, Wednesday 7 h 30: 24 working hours.
    due = add_working_seconds(BUSINESS, friday_1630, parse_duration("3d", BUSINESS))
    assert due == utc(2026, 11, 25, 16, 30)


def test_four_hours_from_friday_afternoon_is_due_monday_lunchtime() -> None:
    due = add_working_seconds(BUSINESS, utc(2026, 11, 20, 16, 30), parse_duration("4h", BUSINESS))
    assert due == utc(2026, 11, 23, 12, 30)


def test_deadline_at_closing_time_stays_on_that_day() -> None:
    assert add_working_seconds(BUSINESS, utc(2026, 11, 23, 9), 8 * HOUR) == utc(2026, 11, 23, 17)


def test_a_holiday_is_skipped() -> None:
    christmas = Calendar(name="business", holidays=(date(2026, 12, 25),))
    thursday_1500 = utc(2026, 12, 24, 15)
    # Thursday 2 h, Friday 25th is a holiday, then Monday 2 h.
    assert add_working_seconds(christmas, thursday_1500, 4 * HOUR) == utc(2026, 12, 28, 11)
    assert not is_working_instant(christmas, utc(2026, 12, 25, 10))
    assert (
        working_seconds_between(christmas, utc(2026, 12, 24, 9), utc(2026, 12, 28, 9)) == 8 * HOUR
    )


def test_counting_starts_at_the_next_opening_when_started_at_night() -> None:
    assert add_working_seconds(BUSINESS, utc(2026, 11, 24, 2), HOUR) == utc(2026, 11, 24, 10)


def test_counting_starts_on_monday_when_started_at_the_weekend() -> None:
    assert add_working_seconds(BUSINESS, utc(2026, 11, 21, 12), 1800) == utc(2026, 11, 23, 9, 30)


def test_starting_at_closing_time_counts_from_the_next_morning() -> None:
    assert add_working_seconds(BUSINESS, utc(2026, 11, 23, 17), 1) == utc(2026, 11, 24, 9, 0, 1)


def test_a_pause_over_the_weekend_costs_only_working_time() -> None:
    friday_1600, monday_1000 = utc(2026, 11, 20, 16), utc(2026, 11, 23, 10)
    assert working_seconds_between(BUSINESS, friday_1600, monday_1000) == 2 * HOUR
    assert working_seconds_between(BUSINESS, monday_1000, friday_1600) == 0.0


def test_zero_seconds_is_the_start_itself_even_at_night() -> None:
    midnight = utc(2026, 11, 22, 0)
    assert add_working_seconds(BUSINESS, midnight, 0) == midnight


def test_working_instants_include_the_opening_edge_but_not_the_closing_edge() -> None:
    assert is_working_instant(BUSINESS, utc(2026, 11, 23, 9))
    assert is_working_instant(BUSINESS, utc(2026, 11, 23, 16, 59, 59))
    assert not is_working_instant(BUSINESS, utc(2026, 11, 23, 17))
    assert not is_working_instant(BUSINESS, utc(2026, 11, 22, 12))


def test_negative_seconds_and_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        add_working_seconds(BUSINESS, utc(2026, 11, 23, 9), -1)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_seconds(BUSINESS, datetime(2026, 11, 23, 9), HOUR)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_seconds_between(BUSINESS, utc(2026, 11, 23, 9), datetime(2026, 11, 24, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_working_instant(BUSINESS, datetime(2026, 11, 23, 9))


def test_a_calendar_without_working_time_is_reported_not_looped_on() -> None:
    mondays = tuple(date(2026, 1, 5) + timedelta(weeks=n) for n in range(110))
    closed = Calendar(name="closed", weekdays=("mon",), holidays=mondays)
    with pytest.raises(ValueError, match="calendar 'closed' has no working time"):
        add_working_seconds(closed, utc(2026, 1, 1), HOUR)


def test_working_day_length() -> None:
    assert working_day_seconds(TWENTY_FOUR_SEVEN) == 86400
    assert working_day_seconds(BUSINESS) == 8 * HOUR
    assert working_day_seconds(Calendar(name="mornings", hours=("08:30", "12:00"))) == 3.5 * HOUR


# --- daylight saving time: Europe/Paris -------------------------------------------------


def test_deadline_across_spring_forward_lands_in_paris_office_hours() -> None:
    # Friday 27 March 2026 is CET (09:00-17:00 = 08:00-16:00 UTC); clocks jump on Sunday
    # the 29th; Monday 30 March is CEST (09:00-17:00 = 07:00-15:00 UTC).
    friday_1600_paris = utc(2026, 3, 27, 15)
    due = add_working_seconds(PARIS, friday_1600_paris, 4 * HOUR)
    assert due == utc(2026, 3, 30, 10)  # 1 h on Friday, 3 h from 07:00 UTC Monday
    assert due.astimezone(ZoneInfo("Europe/Paris")).time() == time(12, 0)
    assert add_working_seconds(PARIS, utc(2026, 3, 27, 16), 1) == utc(2026, 3, 30, 7, 0, 1)


def test_deadline_across_fall_back_lands_in_paris_office_hours() -> None:
    # Friday 23 October 2026 is CEST (closes 15:00 UTC); clocks go back on Sunday the 25th;
    # Monday 26 October is CET (opens 08:00 UTC).
    friday_1600_paris = utc(2026, 10, 23, 14)
    due = add_working_seconds(PARIS, friday_1600_paris, 4 * HOUR)
    assert due == utc(2026, 10, 26, 11)
    assert due.astimezone(ZoneInfo("Europe/Paris")).time() == time(12, 0)
    assert working_seconds_between(PARIS, friday_1600_paris, due) == 4 * HOUR


def test_a_working_day_on_the_dst_change_day_is_still_eight_real_hours() -> None:
    every_day = Calendar(name="paris-daily", timezone="Europe/Paris", weekdays=WEEKDAYS)
    sunday_spring, sunday_fall = utc(2026, 3, 29), utc(2026, 10, 25)
    assert working_seconds_between(every_day, sunday_spring, sunday_spring + timedelta(1)) == (
        8 * HOUR
    )
    assert working_seconds_between(every_day, sunday_fall, sunday_fall + timedelta(1)) == 8 * HOUR


def test_hours_spanning_the_clock_change_count_real_time() -> None:
    night_shift = Calendar(
        name="sunday-maintenance",
        timezone="Europe/Paris",
        weekdays=("sun",),
        hours=("01:00", "05:00"),
    )
    # 01:00-05:00 Paris wall clock is 3 real hours in spring, 5 in autumn.
    spring = working_seconds_between(night_shift, utc(2026, 3, 28), utc(2026, 3, 30))
    autumn = working_seconds_between(night_shift, utc(2026, 10, 24), utc(2026, 10, 26))
    assert (spring, autumn) == (3 * HOUR, 5 * HOUR)
    assert add_working_seconds(night_shift, utc(2026, 10, 24), 5 * HOUR) == utc(2026, 10, 25, 4)


# --- parse_duration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "calendar", "seconds"),
    [
        ("45s", BUSINESS, 45),
        ("15m", BUSINESS, 900),
        ("4h", BUSINESS, 4 * HOUR),
        ("1.5h", BUSINESS, 1.5 * HOUR),
        ("1h30m", BUSINESS, 1.5 * HOUR),
        (" 2h ", BUSINESS, 2 * HOUR),
        ("3d", BUSINESS, 24 * HOUR),
        ("5d", BUSINESS, 40 * HOUR),
        ("1d", TWENTY_FOUR_SEVEN, 24 * HOUR),
        ("0.5d", TWENTY_FOUR_SEVEN, 12 * HOUR),
    ],
)
def test_parse_duration_counts_working_seconds(
    text: str, calendar: Calendar, seconds: float
) -> None:
    assert parse_duration(text, calendar) == seconds


@pytest.mark.parametrize("text", ["5x", "", "4", "h", "1h30", "4 h", "four hours", "1.h", "P1D"])
def test_parse_duration_rejects_malformed_text_quoting_it(text: str) -> None:
    message = f"invalid duration '{text}': use a number with s, m, h or d, like '45s' or '4h'"
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_duration(text, BUSINESS)


@pytest.mark.parametrize("text", ["0m", "0h0s", "-5m"])
def test_parse_duration_rejects_zero_and_negative(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"duration '{text}' must be positive")):
        parse_duration(text, BUSINESS)


# --- calendar validation ----------------------------------------------------------------


def test_calendar_rejects_an_unknown_timezone_by_name() -> None:
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus_Mons'"):
        Calendar(name="business", timezone="Mars/Olympus_Mons")


def test_calendar_rejects_an_unknown_weekday_by_name() -> None:
    with pytest.raises(ValueError, match="unknown weekday 'funday'"):
        Calendar(name="business", weekdays=("mon", "funday"))
    with pytest.raises(ValueError, match="at least one day"):
        Calendar(name="business", weekdays=())


@pytest.mark.parametrize("bad_hour", ["9am", "24:00", "09:60", "9:00", ""])
def test_calendar_rejects_malformed_hours_by_value(bad_hour: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"invalid hour '{bad_hour}'")):
        Calendar(name="business", hours=("08:00", bad_hour))


def test_calendar_rejects_reversed_hours_naming_both() -> None:
    with pytest.raises(
        ValueError, match="opening hour '17:00' must be before closing hour '09:00'"
    ):
        Calendar(name="business", hours=("17:00", "09:00"))


# --- properties -------------------------------------------------------------------------

CALENDARS = st.sampled_from([BUSINESS, PARIS, NEW_YORK_NIGHTS, TWENTY_FOUR_SEVEN])
# Plain instants over two years, plus instants near the 2026 clock changes and at edges.
INSTANTS = st.one_of(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
        lambda naive: naive.replace(tzinfo=UTC)
    ),
    st.builds(
        lambda anchor, minutes: anchor + timedelta(minutes=minutes),
        st.sampled_from([utc(2026, 3, 27, 16), utc(2026, 10, 23, 15), utc(2026, 11, 2, 3)]),
        st.integers(min_value=-3 * 24 * 60, max_value=5 * 24 * 60),
    ),
)
SECONDS = st.one_of(
    st.floats(min_value=0, max_value=2.0),
    st.floats(min_value=0, max_value=30 * 8 * HOUR),
    st.integers(min_value=0, max_value=30 * 8 * 4).map(lambda quarters: quarters * 900.0),
)
POSITIVE_SECONDS = SECONDS.filter(lambda seconds: seconds > 0)


def _inside_local_hours(calendar: Calendar, instant: datetime) -> bool:
    local = instant.astimezone(ZoneInfo(calendar.timezone))
    opens, closes = (time.fromisoformat(text) for text in calendar.hours)
    return (
        WEEKDAYS[local.weekday()] in calendar.weekdays
        and local.date() not in calendar.holidays
        and opens <= local.time() <= closes
    )


@settings(max_examples=200, deadline=None)
@given(calendar=CALENDARS, start=INSTANTS, seconds=SECONDS)
def test_adding_then_measuring_gives_back_the_seconds(
    calendar: Calendar, start: datetime, seconds: float
) -> None:
    due = add_working_seconds(calendar, start, seconds)
    assert working_seconds_between(calendar, start, due) == pytest.approx(seconds, abs=1e-6)
    if seconds > 0:
        # Earliest such instant: a microsecond sooner is not enough working time.
        assert working_seconds_between(calendar, start, due - timedelta(microseconds=1)) < seconds


@settings(max_examples=200, deadline=None)
@given(calendar=CALENDARS, start=INSTANTS, seconds=POSITIVE_SECONDS)
def test_a_deadline_never_falls_in_the_night_weekend_or_holiday(
    calendar: Calendar, start: datetime, seconds: float
) -> None:
    due = add_working_seconds(calendar, start, seconds)
    just_before = due - timedelta(microseconds=1)
    assert is_working_instant(calendar, due) or is_working_instant(calendar, just_before)
    if not calendar.always_open:
        assert _inside_local_hours(calendar, due)


@settings(max_examples=200, deadline=None)
@given(calendar=CALENDARS, instants=st.lists(INSTANTS, min_size=3, max_size=3))
def test_working_time_is_additive(calendar: Calendar, instants: list[datetime]) -> None:
    a, b, c = sorted(instants)
    split = working_seconds_between(calendar, a, b) + working_seconds_between(calendar, b, c)
    assert split == pytest.approx(working_seconds_between(calendar, a, c), abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(calendar=CALENDARS, start=INSTANTS, seconds=st.lists(SECONDS, min_size=2, max_size=2))
def test_more_seconds_never_give_an_earlier_deadline(
    calendar: Calendar, start: datetime, seconds: list[float]
) -> None:
    fewer, more = sorted(seconds)
    assert add_working_seconds(calendar, start, fewer) <= add_working_seconds(calendar, start, more)
