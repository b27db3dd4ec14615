"""Pydantic models shared by the workflow, the activities, the API and the tests."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.alert_origin import AlertOrigin
from domain.incident_models import ModelSnapshot, Playbook, StepId
from domain.names import INCIDENT_NUMBER_PATTERN
from domain.policy import Policy, Priority
from domain.similar import SimilarIncident

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32_000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Level = Annotated[int, Field(ge=1, le=3, description="1 high, 2 medium, 3 low")]
IncidentNumber = Annotated[str, StringConstraints(pattern=INCIDENT_NUMBER_PATTERN)]


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELED = "canceled"


class Action(StrEnum):
    ASSIGN = "assign"
    START = "start"
    PEND = "pend"
    RESUME = "resume"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    CANCEL = "cancel"
    ESCALATE = "escalate"
    UPDATE = "update"
    COMMENT = "comment"
    DECLARE_MAJOR = "declare_major"
    LINK_PARENT = "link_parent"
    REVIEW = "review"
    VENDOR_TICKET = "vendor_ticket"
    UNDECLARE_MAJOR = "undeclare_major"
    STATUS_UPDATE = "status_update"
    RETURN = "return"
    AFFECTED = "affected"
    COMPLETE_STEP = "complete_step"
    SKIP_STEP = "skip_step"


class Channel(StrEnum):
    API = "api"
    WEB = "web"
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    MONITORING = "monitoring"


class PendingReason(StrEnum):
    AWAITING_CALLER = "awaiting_caller"
    AWAITING_VENDOR = "awaiting_vendor"
    AWAITING_PROBLEM = "awaiting_problem"
    AWAITING_CHANGE = "awaiting_change"


class ResolutionCode(StrEnum):
    FIXED = "fixed"
    WORKAROUND = "workaround"
    KNOWN_ERROR = "known_error"
    DUPLICATE = "duplicate"
    NO_FAULT_FOUND = "no_fault_found"
    AUTO_RESOLVED = "auto_resolved"
    NO_RESPONSE = "no_response"  # the caller did not answer the reminders (contract 13)


class CloseCode(StrEnum):
    CONFIRMED = "confirmed"
    AUTO = "auto"
    CLOSED_BY_AGENT = "closed_by_agent"  # an agent or manager closed it for the caller


class EscalationKind(StrEnum):
    FUNCTIONAL = "functional"
    HIERARCHICAL = "hierarchical"


class Visibility(StrEnum):
    PUBLIC = "public"
    WORK_NOTE = "work_note"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- inputs -------------------------------------------------------------------------------


class IncidentCreate(Strict):
    short_description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)
    ]
    description: LongText = ""
    caller: Name | None = Field(default=None, description="defaults to the requester's own name")
    impact: Level = 2
    urgency: Level = 2
    category: Name | None = None
    subcategory: Name | None = None
    service: Name | None = None
    ci: Name | None = Field(default=None, description="a configuration item of the catalogue")
    channel: Channel = Channel.API


class ActionRequest(Strict):
    """Common to every transition. The API sets actor and request_id; automation may send them."""

    actor: Name = "automation"
    request_id: Annotated[str, StringConstraints(max_length=200)] | None = None


# Request fields the API fills in from who is asking; a client never sends them.
API_FILLED_FIELDS = frozenset({"on_behalf_of_caller", "template", "model"})


class AssignRequest(ActionRequest):
    group: Name
    assignee: Name | None = None


class StartRequest(ActionRequest):
    assignee: Name | None = Field(default=None, description="needed unless already assigned")


class PendRequest(ActionRequest):
    reason: PendingReason
    note: Text = Field(description="what the caller is told")


class ResumeRequest(ActionRequest):
    note: Text | None = None


class ResolveRequest(ActionRequest):
    resolution_code: ResolutionCode
    resolution_notes: Text
    category: Name | None = None
    subcategory: Name | None = None
    known_error_id: Name | None = None
    workaround: bool = False
    duplicate_of: IncidentNumber | None = Field(
        default=None, description="required for resolution_code duplicate: the original incident"
    )


class ReopenRequest(ActionRequest):
    reason: Text


class CloseRequest(ActionRequest):
    note: Text | None = Field(
        default=None, description="required when an agent closes on the caller's behalf"
    )
    # Set by the API, never sent by a client: the closer is an agent or manager, not the
    # caller. Old histories lack it, so their closes replay as `confirmed`.
    on_behalf_of_caller: bool = False


class CancelRequest(ActionRequest):
    reason: Text


class EscalateRequest(ActionRequest):
    kind: EscalationKind
    reason: Text


class UpdateRequest(ActionRequest):
    short_description: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)]
        | None
    ) = None
    description: LongText | None = None
    impact: Level | None = None
    urgency: Level | None = None
    category: Name | None = None
    subcategory: Name | None = None
    service: Name | None = None
    ci: Name | None = None
    reason: Text | None = Field(default=None, description="required when the priority changes")
    # Set by the API, never sent by a client: the incident model the new values match, when
    # it differs from the incident's own (contract 14, re-categorisation).
    model: ModelSnapshot | None = None


class CommentRequest(ActionRequest):
    text: Text
    visibility: Visibility = Visibility.WORK_NOTE
    # Set by the API when it rendered `text` from a reply template (contract 14): the timeline
    # says which. Signals carry the text itself.
    template: Name | None = None


class DeclareMajorRequest(ActionRequest):
    reason: Text


class UndeclareMajorRequest(ActionRequest):
    reason: Text


class StatusUpdateRequest(ActionRequest):
    """A public update of a major incident: stakeholders and the callers receive this text."""

    text: Text


class CompleteStepRequest(ActionRequest):
    """Complete a playbook step (a manual one, or a failed automated one done by hand), or with
    `retry` run a failed automated step again."""

    step: StepId
    note: Text | None = None
    retry: bool = Field(default=False, description="run a failed automated step again")


class SkipStepRequest(ActionRequest):
    """Skip a playbook step that is not required, with the reason."""

    step: StepId
    reason: Text


class LinkParentRequest(ActionRequest):
    parent: IncidentNumber


class ReturnRequest(ActionRequest):
    """The group hands a misrouted incident back to the service desk."""

    reason: Text


class AffectedRequest(ActionRequest):
    """Another caller reports the same incident ("me too"): counted, and told of its progress."""

    caller: Name


class VendorTicketCreate(ActionRequest):
    """Open a ticket with a vendor from the policy; retried calls never open two."""

    vendor: Name
    summary: Text


class ReviewActionItem(Strict):
    action: Text
    owner: Name
    due: date | None = None


class ReviewRequest(ActionRequest):
    """The post-incident review of a major incident: needed before it can close."""

    summary: Text
    highlights: list[Text] = Field(default=[], max_length=50)
    root_cause: Text
    lessons: Text
    actions: list[ReviewActionItem] = Field(min_length=1, max_length=50)


# --- state and views ----------------------------------------------------------------------


class TimelineEntry(BaseModel):
    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    at: datetime
    actor: str
    kind: str
    from_status: Status | None = Field(default=None, alias="from")
    to_status: Status | None = Field(default=None, alias="to")
    details: dict[str, Any] = {}


class SlaClock(BaseModel):
    """One SLA clock. Working time is counted on `calendar`; `elapsed_seconds` is what was used
    before `running_since`, so a pause or a priority change never loses time already spent."""

    name: str
    target_seconds: float
    calendar: str
    elapsed_seconds: float = 0.0
    running_since: datetime | None = None
    paused_since: datetime | None = None
    pause_reason: str | None = None
    pause_seconds: dict[str, float] = {}
    stopped_at: datetime | None = None
    due_at: datetime | None = None
    warnings_fired: list[float] = []
    escalated: bool = False
    breached_at: datetime | None = None


class KnownErrorMatch(BaseModel):
    """A known error suggested for an incident by the KEDB's full-text search."""

    id: str
    title: str
    score: float
    workaround: str | None = None


class VendorTicket(BaseModel):
    vendor: str
    summary: str
    request_key: str
    ticket_id: str | None = None  # None until the vendor has answered
    status: str = "requested"  # requested, open, ..., resolved; failed when the vendor refused
    url: str | None = None
    last_comment: str | None = None
    opened_at: datetime
    updated_at: datetime


class PostIncidentReview(BaseModel):
    summary: str
    highlights: list[str]
    root_cause: str
    lessons: str
    actions: list[ReviewActionItem]
    by: str
    at: datetime


class ImpactSuggestion(BaseModel):
    """What `[escalation].affected_impact` suggests once enough callers are affected: advice
    for the desk (an `update` applies it), never a change by itself."""

    impact: int
    priority: Priority
    affected: int
    at: datetime


class AlertInfo(BaseModel):
    """The monitoring alert an incident was opened for."""

    source: str
    dedup_key: str
    severity: str
    occurrences: int = 1
    first_seen: datetime
    last_seen: datetime
    origin: AlertOrigin | None = None  # set when an integration opened it


class IncidentFields(BaseModel):
    number: str
    short_description: str
    description: str = ""
    caller: str
    opened_by: str
    impact: int
    urgency: int
    priority: Priority
    category: str | None = None
    subcategory: str | None = None
    service: str | None = None
    ci: str | None = None  # a configuration item (contract 15)
    channel: Channel = Channel.API
    status: Status
    assignment_group: str | None = None
    assignee: str | None = None
    support_level: str = "L1"
    major: bool = False
    parent: str | None = None
    children: list[str] = []
    pending_reason: PendingReason | None = None
    resolution_code: ResolutionCode | None = None
    resolution_notes: str | None = None
    known_error_id: str | None = None
    workaround: bool = False
    close_code: CloseCode | None = None
    reopen_count: int = 0
    reassignment_count: int = 0
    escalation_count: int = 0
    created_at: datetime
    updated_at: datetime
    assigned_at: datetime | None = None
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    canceled_at: datetime | None = None
    response_sla: SlaClock
    resolution_sla: SlaClock
    breached: bool = False
    last_work_note: str | None = None
    major_since: datetime | None = None
    last_major_update_at: datetime | None = None
    last_status_update: str | None = None  # public text of the last `status_update`
    last_status_update_at: datetime | None = None
    bridge_url: str | None = None
    review: PostIncidentReview | None = None
    review_reminded: bool = False
    resolved_by_parent: bool = False
    alert: AlertInfo | None = None
    survey_invited: bool = False
    suggestions: list[KnownErrorMatch] = []
    similar: list[SimilarIncident] = []  # open incidents found at create (agents only)
    vendor_tickets: list[VendorTicket] = []
    problem_id: str | None = None
    survey_score: int | None = None
    survey_comment: str | None = None
    # Chasing the caller while pending on them: reminders sent since `caller_chase_since`
    # (the start of that wait). Defaults keep older histories replaying.
    caller_reminders: int = 0
    caller_chase_since: datetime | None = None
    # The service desk's checks (issue 16): hand-backs of a misrouted incident, other callers
    # reporting the same incident ("me too", bounded: lifecycle.AFFECTED_KEPT), duplicates.
    returns: int = 0
    affected_callers: list[str] = []
    affected_count: int = 0
    impact_suggestion: ImpactSuggestion | None = None
    duplicate_of: str | None = None
    duplicates: list[str] = []
    # The playbook of the incident's model (contract 14), and those it had before a
    # re-categorisation brought another one (newest last, at most KEPT_PLAYBOOKS).
    playbook: Playbook | None = None
    previous_playbooks: list[Playbook] = []
    version: int = 0


class IncidentView(IncidentFields):
    allowed_actions: list[Action] = []


class IncidentState(IncidentFields):
    """Everything the workflow knows: one model, so continue-as-new carries it whole."""

    policy: Policy
    # The caller's display name from the directory, for `{caller_name}` in a model's texts
    # (the API sets it at open; the id stands in for incidents opened without it).
    caller_name: str | None = None
    timeline: list[TimelineEntry] = []
    handled_request_ids: list[str] = []
    recorded_version: int = 0
    # Absolute timeline positions: entries before `timeline_offset` were recorded and handled,
    # and only the record store keeps them, so the state stays small however long the life.
    timeline_offset: int = 0
    recorded_timeline: int = 0
    dispatched_timeline: int = 0
    bridge_requested: bool = False
    # The lifecycle rules the incident opened under: 0 before the directory (v0.2.0 and
    # earlier), 1 since. A rule that would change what an already running incident does on
    # replay applies from 1 only (see `domain.lifecycle.RULES_VERSION`).
    rules_version: int = 0
    # Set by the workflow for incidents started before a caller's public comment told the
    # assignee (workflow.patched), so their histories replay with the notifications they had.
    caller_comments_silent: bool = False
    # Set by the workflow (workflow.patched): incidents started before playbooks existed take
    # no new playbook on re-categorisation.
    playbooks_enabled: bool = False


class TimelineWindow(BaseModel):
    """The recent part of a timeline the workflow still holds; `offset` entries came before."""

    offset: int
    entries: list[TimelineEntry]


class IncidentRecord(BaseModel):
    """What the record store receives on every change: the view and the new timeline entries."""

    view: IncidentView
    timeline_start: int
    new_entries: list[TimelineEntry]


class IncidentsPage(BaseModel):
    items: list[IncidentView]
    next_cursor: str | None = None
