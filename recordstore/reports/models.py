"""The summary report's models: the query (window and filters) and every figure it answers,
as the API documents them. The definitions of the figures are in recordstore/reports/__init__.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.policy import Priority

# Bounds a window may have: room for the backlog's 30-day arithmetic at either end.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
# The window when `from` is left out: this long before `to` (itself now when left out).
DEFAULT_WINDOW = timedelta(days=30)


class ReportQuery(BaseModel):
    """The window `[from, to)` and the filters. A date (`2026-03-01`) for `from` means the start
    of that day, for `to` the end of that day (UTC), so `from=2026-03-01&to=2026-03-31` is all of
    March. A datetime without an offset is UTC. Validated with `context={"now": ...}`, either
    bound may be left out: `to` is then now, `from` 30 days before `to`."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    from_: datetime = Field(alias="from")
    to: datetime
    group: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[^\x00]*$")
    priority: Priority | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_window(cls, data: Any, info: ValidationInfo) -> Any:
        now = (info.context or {}).get("now")
        if now is None or not isinstance(data, dict):
            return data
        data = {key: value for key, value in data.items() if value is not None}
        data.setdefault("to", now)
        if "from" not in data and "from_" not in data:
            try:
                end = TypeAdapter(datetime).validate_python(_bound(data["to"], end_of_day=True))
                utc = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
                data["from"] = utc - DEFAULT_WINDOW
            except (ValueError, ValidationError, OverflowError):
                data["from"] = now - DEFAULT_WINDOW  # `to` is reported as it is
        return data

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


def hours_minutes(seconds: float | None) -> str | None:
    """`h:mm`, to the nearest minute (hours run past 24: `50:05`)."""
    if seconds is None:
        return None
    minutes = int(seconds // 60 + (seconds % 60 >= 30))  # half a minute rounds up
    return f"{minutes // 60}:{minutes % 60:02d}"


class DurationStats(BaseModel):
    """Seconds over `count` incidents, and the same as `h:mm` text; mean and median are None
    when `count` is 0."""

    count: int
    mean_seconds: float | None
    median_seconds: float | None
    mean_text: str | None = None
    median_text: str | None = None

    @model_validator(mode="after")
    def _texts(self) -> DurationStats:
        self.mean_text = hours_minutes(self.mean_seconds)
        self.median_text = hours_minutes(self.median_seconds)
        return self


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
    """Incidents open (new, assigned, in progress, pending) at `as_of`, the window's end or now
    if that is earlier, by their age then. Buckets include their lower bound: `1-3d` is at
    least 1 day and under 3 days old."""

    total: int
    by_age: dict[str, int]
    as_of: datetime | None = None


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
        description="incidents resolved in the window by their first group (no reassignment), "
        "of those resolved in the window other than by a parent or as a duplicate"
    )
    backlog: Backlog
    survey: SurveyStats
    closed: dict[str, int] = Field(
        default={},
        description="incidents closed in the window, by close code: confirmed, auto, "
        "closed_by_agent; no_response: resolved for lack of the caller's answer (whatever the "
        "close code), counted apart",
    )

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
                (f"{name}_text", "mean", stats.mean_text),
                (f"{name}_text", "median", stats.median_text),
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
            *(("closed", code, count) for code, count in self.closed.items()),
        ]
        return rows
