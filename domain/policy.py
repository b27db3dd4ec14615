"""The policy file: priorities, SLAs, calendars, escalation, closure, routing, majors, alerts.

Parsed and validated once at start-up; each incident carries the policy it was opened under,
so a policy reload applies to new incidents only and replays stay deterministic.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from domain.calendar import TWENTY_FOUR_SEVEN, Calendar, parse_duration
from domain.correlation_policy import CorrelationPolicy
from domain.integrations_policy import IntegrationsPolicy, window_seconds
from domain.messages import parse_toml


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"


Fraction = Annotated[float, Field(gt=0, le=1)]


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityPolicy(PolicyModel):
    matrix: tuple[tuple[Priority, Priority, Priority], ...] = (
        (Priority.P1, Priority.P2, Priority.P3),
        (Priority.P2, Priority.P3, Priority.P4),
        (Priority.P3, Priority.P4, Priority.P5),
    )

    @field_validator("matrix")
    @classmethod
    def _three_rows(cls, matrix: tuple[tuple[Priority, ...], ...]) -> Any:
        if len(matrix) != 3:
            raise ValueError("the priority matrix needs 3 rows (impact 1-3) of 3 priorities")
        return matrix


class CalendarSpec(PolicyModel):
    timezone: str = "UTC"
    weekdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    hours: tuple[str, str] = ("09:00", "17:00")
    holidays: tuple[str, ...] = ()


class SlaTarget(PolicyModel):
    response: str
    resolution: str
    calendar: str = "24x7"
    warn_at: tuple[Fraction, ...] = (0.5, 0.75)
    escalate_at: Fraction | None = 0.75


class ClosurePolicy(PolicyModel):
    auto_close_after: str = "5d"
    calendar: str = "business"


class MajorPolicy(PolicyModel):
    priorities: tuple[Priority, ...] = (Priority.P1,)
    update_interval: str = "30m"
    review_due: str = "5d"
    bridge_url_template: str = "https://meet.example.com/incident/{number}"


class SurveyPolicy(PolicyModel):
    rate: Annotated[float, Field(ge=0, le=1)] = (
        1.0  # share of closed incidents whose caller is asked
    )


class AlertsPolicy(PolicyModel):
    auto_resolve: bool = True
    severity: dict[
        str, tuple[Annotated[int, Field(ge=1, le=3)], Annotated[int, Field(ge=1, le=3)]]
    ] = {
        "critical": (1, 1),
        "error": (2, 1),
        "warning": (2, 2),
        "info": (3, 3),
    }
    # A trigger this soon after its incident was auto-resolved reopens it (flapping); later,
    # or after a resolution by hand, it opens a new incident. "0s" turns reopening off.
    reopen_window: str = "30m"

    @field_validator("reopen_window")
    @classmethod
    def _window(cls, window: str) -> str:
        window_seconds(window)
        return window


class RoutingRule(PolicyModel):
    group: str = Field(min_length=1)
    category: str | None = None
    subcategory: str | None = None
    service: str | None = None

    def matches(self, category: str | None, subcategory: str | None, service: str | None) -> bool:
        wanted = (
            (self.category, category),
            (self.subcategory, subcategory),
            (self.service, service),
        )
        return all(rule is None or rule == given for rule, given in wanted)


class RoutingPolicy(PolicyModel):
    rules: tuple[RoutingRule, ...] = (
        RoutingRule(category="network", group="network-l1"),
        RoutingRule(category="database", group="dba-l1"),
    )
    levels: dict[str, str] = {"L1": "service-desk", "L2": "platform-l2", "L3": "platform-l3"}
    default_group: str | None = None


class GroupPolicy(PolicyModel):
    """A group's own support ladder: level -> the group that works it (L2, L3)."""

    levels: dict[str, str] = {}


class IntakePolicy(PolicyModel):
    # A requester's own impact and urgency never give a higher priority than this, and never a
    # major incident: an agent triages with `update` (contract 2, create).
    requester_max_priority: Priority = Priority.P3


class ContactsPolicy(PolicyModel):
    incident_manager: str = "incident-manager"
    problem_manager: str = "problem-manager"
    stakeholders: tuple[str, ...] = ()


class NotificationChannel(PolicyModel):
    """Where messages go. Secrets stay with the worker: channels are never part of an
    incident's workflow state (see `NotificationPolicy.channels`)."""

    type: Literal["webhook", "email"]
    url: str | None = None  # webhook: JSON POST with a Slack-compatible "text"
    headers: dict[str, str] = {}
    host: str = "localhost"  # email: SMTP server
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "incidentflow@localhost"

    @model_validator(mode="after")
    def _complete(self) -> NotificationChannel:
        if self.type == "webhook" and not self.url:
            raise ValueError("a webhook channel needs a url")
        return self


class NotificationPolicy(PolicyModel):
    retry_for: str = "1h"  # a channel down for longer is recorded as failed
    email_domain: str = "example.com"  # a person's address is <name>@<domain> ...
    addresses: dict[str, str] = {}  # ... unless listed here (name or group -> address)
    # recipient role -> channel names; roles: caller, assignee, group, incident_manager,
    # stakeholders, problem_manager
    routes: dict[str, tuple[str, ...]] = {}
    templates_dir: str | None = None  # overrides of the shipped templates/notifications/*.txt
    channels: dict[str, NotificationChannel] = Field(default={}, exclude=True)


class TicketsPolicy(PolicyModel):
    retry_for: str = "1h"  # a vendor that stays down this long: the ticket is recorded as failed


class VendorPolicy(PolicyModel):
    url: str  # POST {url}/tickets creates a ticket
    token: str | None = None  # sent as a bearer token
    timeout: str = "10s"


class PendingPolicy(PolicyModel):
    """Chasing a caller who does not answer (pending on awaiting_caller). Off unless
    `remind_after` is set: incidents opened before this key existed carry no chase, so their
    histories replay unchanged."""

    remind_after: str | None = None  # a reminder to the caller after each such period
    reminders: Annotated[int, Field(ge=0, le=20)] = 2  # then resolved with `no_response`
    calendar: str = "business"


class EmailPolicy(PolicyModel):
    """Inbound and outbound mail (contract 13). Read by the mail listener, the API and the
    worker; not part of an incident's copy of the policy."""

    service_desk_address: str = "servicedesk@example.com"  # Reply-To of every mail we send
    unknown_senders: Literal["create", "reject"] = "create"
    reopen_on_reply: bool = True  # a reply to a resolved incident reopens it
    max_message_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    max_attachment_bytes: Annotated[int, Field(ge=1)] = 3 * 1024 * 1024
    max_attachments: Annotated[int, Field(ge=0)] = 20  # per incident
    sender_rate_per_hour: Annotated[int, Field(ge=1)] = 30


class EscalationPolicy(PolicyModel):
    notify_manager_at_creation: tuple[Priority, ...] = (Priority.P1, Priority.P2)
    # The service desk's checks: after this many hand-backs (`return`) of one incident, a
    # hierarchical escalation (the incident manager decides the group) ...
    max_returns: Annotated[int, Field(ge=1, le=100)] = 2
    # ... and at this many other callers reporting it (`affected`), one.
    repeat_calls: Annotated[int, Field(ge=1, le=1000)] = 3
    # Affected callers -> the impact suggested to the desk from that many on (1 high, 3 low).
    affected_impact: dict[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1, le=3)]] = {
        3: 2,
        10: 1,
    }

    def suggested_impact(self, affected: int) -> int | None:
        """The impact of the highest threshold `affected` has reached; None below them all."""
        reached = [threshold for threshold in self.affected_impact if affected >= threshold]
        return self.affected_impact[max(reached)] if reached else None


def _default_sla() -> dict[Priority, SlaTarget]:
    return {
        Priority.P1: SlaTarget(response="15m", resolution="4h"),
        Priority.P2: SlaTarget(response="30m", resolution="8h"),
        Priority.P3: SlaTarget(response="4h", resolution="3d", calendar="business"),
        Priority.P4: SlaTarget(response="1d", resolution="5d", calendar="business"),
        Priority.P5: SlaTarget(response="2d", resolution="10d", calendar="business"),
    }


class Policy(PolicyModel):
    priority: PriorityPolicy = PriorityPolicy()
    calendars: dict[str, CalendarSpec] = {"business": CalendarSpec()}
    sla: dict[Priority, SlaTarget] = Field(default_factory=_default_sla)
    closure: ClosurePolicy = ClosurePolicy()
    major: MajorPolicy = MajorPolicy()
    alerts: AlertsPolicy = AlertsPolicy()
    routing: RoutingPolicy = RoutingPolicy()
    groups: dict[str, GroupPolicy] = {}  # per-group ladders; others use routing.levels
    intake: IntakePolicy = IntakePolicy()
    contacts: ContactsPolicy = ContactsPolicy()
    escalation: EscalationPolicy = EscalationPolicy()
    survey: SurveyPolicy = SurveyPolicy()
    notifications: NotificationPolicy = NotificationPolicy()
    tickets: TicketsPolicy = TicketsPolicy()
    integrations: IntegrationsPolicy = IntegrationsPolicy()
    pending: PendingPolicy = PendingPolicy()
    correlation: CorrelationPolicy = CorrelationPolicy()
    email: EmailPolicy = Field(default=EmailPolicy(), exclude=True)
    # Vendor endpoints and credentials stay with the worker and the API: excluded from the
    # policy copy each incident carries in its workflow history.
    vendors: dict[str, VendorPolicy] = Field(default={}, exclude=True)
    # Incident models (contract 14), checked by `domain.incident_models.load_catalogue` with
    # the models folder's; an incident carries the snapshot of its own model, not these.
    models: dict[str, Any] = Field(default={}, exclude=True)
    _calendars: dict[str, Calendar] = PrivateAttr(default_factory=dict)

    @field_validator("sla", mode="before")
    @classmethod
    def _default_missing_priorities(cls, sla: Any) -> Any:
        """A policy that sets only [sla.P1] keeps the default targets of the other priorities."""
        if isinstance(sla, dict):
            return {**_default_sla(), **sla}
        return sla

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        for priority, target in self.sla.items():
            calendar = self.calendar(target.calendar, where=f"sla.{priority}.calendar")
            for key in ("response", "resolution"):
                _check_duration(getattr(target, key), calendar, f"sla.{priority}.{key}")
        closure_calendar = self.calendar(self.closure.calendar, where="closure.calendar")
        _check_duration(self.closure.auto_close_after, closure_calendar, "closure.auto_close_after")
        _check_duration(self.major.update_interval, TWENTY_FOUR_SEVEN, "major.update_interval")
        _check_duration(self.major.review_due, closure_calendar, "major.review_due")
        _check_duration(self.notifications.retry_for, TWENTY_FOUR_SEVEN, "notifications.retry_for")
        _check_duration(self.tickets.retry_for, TWENTY_FOUR_SEVEN, "tickets.retry_for")
        if self.pending.remind_after is not None:
            pending_calendar = self.calendar(self.pending.calendar, where="pending.calendar")
            _check_duration(self.pending.remind_after, pending_calendar, "pending.remind_after")
        return self

    def calendar(self, name: str, where: str = "calendar") -> Calendar:
        if name == TWENTY_FOUR_SEVEN.name:
            return TWENTY_FOUR_SEVEN
        if name not in self._calendars:
            spec = self.calendars.get(name)
            if spec is None:
                known = ", ".join(["24x7", *self.calendars])
                raise ValueError(f"{where}: unknown calendar '{name}' (known: {known})")
            self._calendars[name] = Calendar(name=name, **spec.model_dump())
        return self._calendars[name]

    def priority_for(self, impact: int, urgency: int) -> Priority:
        return self.priority.matrix[impact - 1][urgency - 1]

    def route(
        self, category: str | None, subcategory: str | None, service: str | None
    ) -> str | None:
        for rule in self.routing.rules:
            if rule.matches(category, subcategory, service):
                return rule.group
        return self.routing.default_group

    def ladder(self, group: str | None) -> dict[str, str]:
        """The support ladder an incident of `group` climbs: the group's own, or the ladder of
        a group whose levels it works (an L2 group climbs on to its L1's L3), else the global
        `routing.levels`."""
        if group is not None:
            if group in self.groups and self.groups[group].levels:
                return dict(self.groups[group].levels)
            for spec in self.groups.values():
                if group in spec.levels.values():
                    return dict(spec.levels)
        return dict(self.routing.levels)

    def seconds(self, duration: str, calendar_name: str) -> float:
        return parse_duration(duration, self.calendar(calendar_name))


def _check_duration(text: str, calendar: Calendar, where: str) -> None:
    try:
        parse_duration(text, calendar)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


class PolicyError(ValueError):
    """The policy file is unusable; the message names the file and every bad key."""


def parse_policy(text: str, source: str = "policy") -> Policy:
    policy = parse_toml(text, source, Policy, PolicyError)
    _check_wiring(policy, source)
    return policy


def _check_wiring(policy: Policy, source: str) -> None:
    """Cross-references that only the full policy file can check (an incident's copy lacks
    the channels, so this is not a model validator)."""
    notifications = policy.notifications
    for role, channels in notifications.routes.items():
        for channel in channels:
            if channel not in notifications.channels:
                known = ", ".join(notifications.channels) or "none defined"
                raise PolicyError(
                    f"{source}: notifications.routes.{role}: unknown channel '{channel}' ({known})"
                )
    for name, vendor in policy.vendors.items():
        _check_duration(vendor.timeout, TWENTY_FOUR_SEVEN, f"vendors.{name}.timeout")
