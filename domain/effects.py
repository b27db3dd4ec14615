"""What the incident workflow starts in the world after each timeline entry: notifications,
known-error lookups, problem proposals, bridges, vendor tickets, and signals to the incidents
and alert routers it is linked to. Pure decisions here; `workflows.incident` carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from domain import correlation, lifecycle, names
from domain.kedb import KnownErrorQuery, Problem, ProblemProposal, ProblemReason
from domain.models import (
    Action,
    IncidentState,
    KnownErrorMatch,
    ResolutionCode,
    TimelineEntry,
    VendorTicket,
)
from domain.notifications import Delivery, deliveries_for
from domain.relations import ChildLinked, DuplicateLinked, ParentReopened, ParentResolved
from domain.similar import SimilarIncident, SimilarQuery
from domain.vendors import VendorTicketRequest, VendorTicketResult

RECATEGORISING = frozenset(
    {"category", "subcategory", "service", "short_description", "description"}
)


class BridgeRequest(BaseModel):
    number: str
    short_description: str
    priority: str


class BridgeInfo(BaseModel):
    url: str


class IncidentClosed(BaseModel):
    number: str


@dataclass(frozen=True)
class RunActivity:
    activity: str
    arg: BaseModel
    summary: str
    give_up_after: timedelta
    max_attempts: int = 0  # 0: retried until give_up_after


@dataclass(frozen=True)
class SendSignal:
    workflow_id: str
    signal: str
    arg: BaseModel


@dataclass(frozen=True)
class StartIncident:
    """Open another incident (a parent opened by correlation): its workflow, started once."""

    state: IncidentState
    summary: str


Effect = RunActivity | SendSignal | StartIncident


def effects_for(state: IncidentState, entry: TimelineEntry, seq: int) -> list[Effect]:
    found: list[Effect] = [
        _notify(state, delivery) for delivery in deliveries_for(state, entry, seq)
    ]
    if entry.kind == "created" or (
        entry.kind == "update" and RECATEGORISING & set(entry.details.get("changes", {}))
    ):
        found.append(_lookup_known_errors(state))
    if entry.kind == "created":
        found.append(lookup_similar(state))
    if entry.kind == "resolve":
        found += _on_resolve(state, entry, seq)
    if entry.kind == "reopen":
        request = f"{state.number}/{seq}"
        reason = str(entry.details.get("reason", "parent reopened"))
        found += [
            SendSignal(
                names.incident_workflow_id(child),
                names.PARENT_REOPENED_SIGNAL,
                ParentReopened(parent=state.number, reason=reason, request_id=request),
            )
            for child in state.children
        ]
    if entry.kind == "link_parent" and state.parent:
        found.append(
            SendSignal(
                names.incident_workflow_id(state.parent),
                names.CHILD_LINKED_SIGNAL,
                ChildLinked(child=state.number),
            )
        )
    if entry.kind in ("close", "cancel") and state.alert is not None:
        router = names.alert_workflow_id(state.alert.source, state.alert.dedup_key)
        found.append(
            SendSignal(router, names.INCIDENT_CLOSED_SIGNAL, IncidentClosed(number=state.number))
        )
    if entry.kind == "vendor_ticket":
        found.append(_create_vendor_ticket(state, entry))
    return found + _correlation_effects(state, entry)


def _correlation_effects(state: IncidentState, entry: TimelineEntry) -> list[Effect]:
    """Ask the record store after create; open the parent it allotted; a parent so opened
    links its children. (The workflow guards the first with a patch.)"""
    request = correlation.request_for(state) if entry.kind == "created" else None
    found: list[Effect] = []
    if request is not None:
        summary = f"correlate {state.number} on {', '.join(request.keys)}"
        found.append(RunActivity(names.CORRELATE_INCIDENTS, request, summary, timedelta(hours=1)))
    if entry.kind == correlation.PARENT_OPENED:
        parent = correlation.parent_incident(state, entry)
        found.append(StartIncident(parent, f"open the correlation parent {parent.number}"))
    return found + [
        SendSignal(
            names.incident_workflow_id(child),
            Action.LINK_PARENT.value,
            correlation.link_request(state.number, child),
        )
        for child in correlation.children_to_link(entry)
    ]


def once_effects(state: IncidentState) -> list[Effect]:
    """Effects of the incident's state rather than of one entry: a major incident gets a bridge."""
    if state.major and not state.bridge_requested:
        state.bridge_requested = True
        bridge = BridgeRequest(
            number=state.number, short_description=state.short_description, priority=state.priority
        )
        return [
            RunActivity(
                names.OPEN_BRIDGE,
                bridge,
                f"open the bridge for {state.number}",
                timedelta(minutes=10),
            )
        ]
    return []


def _notify(state: IncidentState, delivery: Delivery) -> RunActivity:
    retry_for = timedelta(
        seconds=state.policy.seconds(state.policy.notifications.retry_for, "24x7")
    )
    summary = (
        f"notify {delivery.role} {delivery.recipient} via {delivery.channel}: {delivery.event}"
    )
    return RunActivity(names.SEND_NOTIFICATION, delivery, summary, retry_for)


def _lookup_known_errors(state: IncidentState) -> RunActivity:
    text = f"{state.short_description}\n{state.description}"[:4000]
    query = KnownErrorQuery(text=text, category=state.category, service=state.service, limit=3)
    return RunActivity(
        names.LOOKUP_KNOWN_ERRORS,
        query,
        f"look up known errors for {state.number}",
        timedelta(minutes=5),
    )


def lookup_similar(state: IncidentState) -> RunActivity:
    """Open incidents that may be the same outage, for the desk (contract 15)."""
    text = f"{state.short_description}\n{state.description}"[:4000]
    query = SimilarQuery(text=text, service=state.service, ci=state.ci, exclude=state.number)
    return RunActivity(
        names.LOOKUP_SIMILAR_INCIDENTS,
        query,
        f"look up incidents similar to {state.number}",
        timedelta(minutes=5),
    )


def problem_reason(state: IncidentState) -> ProblemReason | None:
    if state.workaround or state.resolution_code == ResolutionCode.WORKAROUND:
        return "workaround"
    if state.resolution_code == ResolutionCode.NO_FAULT_FOUND:
        return "no_root_cause"
    return None


def _on_resolve(state: IncidentState, entry: TimelineEntry, seq: int) -> list[Effect]:
    found: list[Effect] = []
    reason = problem_reason(state)
    if (
        reason is not None
        and state.problem_id is None
        and state.resolution_code
        and state.resolution_notes
    ):
        proposal = ProblemProposal(
            number=state.number,
            short_description=state.short_description,
            category=state.category,
            service=state.service,
            resolution_code=state.resolution_code,
            resolution_notes=state.resolution_notes,
            reason=reason,
        )
        found.append(
            RunActivity(
                names.PROPOSE_PROBLEM,
                proposal,
                f"propose a problem for {state.number}",
                timedelta(hours=1),
            )
        )
    if state.children and state.resolution_code and state.resolution_notes:
        cascade = ParentResolved(
            parent=state.number,
            group=state.assignment_group,
            resolution_code=state.resolution_code,
            resolution_notes=state.resolution_notes,
            request_id=f"{state.number}/{seq}",
            duplicate_of=state.duplicate_of,
        )
        found += [
            SendSignal(names.incident_workflow_id(child), names.PARENT_RESOLVED_SIGNAL, cascade)
            for child in state.children
        ]
    if state.duplicate_of is not None:
        link = DuplicateLinked(
            duplicate=state.number, caller=state.caller, request_id=f"{state.number}/{seq}"
        )
        found.append(
            SendSignal(
                names.incident_workflow_id(state.duplicate_of), names.DUPLICATE_LINKED_SIGNAL, link
            )
        )
    return found


def _create_vendor_ticket(state: IncidentState, entry: TimelineEntry) -> RunActivity:
    ticket = next(t for t in state.vendor_tickets if t.request_key == entry.details["request_key"])
    request = VendorTicketRequest(
        key=ticket.request_key,
        vendor=ticket.vendor,
        number=state.number,
        summary=ticket.summary,
        priority=state.priority.value,
        short_description=state.short_description,
    )
    retry_for = timedelta(seconds=state.policy.seconds(state.policy.tickets.retry_for, "24x7"))
    summary = f"open a {ticket.vendor} ticket for {state.number}"
    return RunActivity(names.CREATE_VENDOR_TICKET, request, summary, retry_for)


# --- what comes back ----------------------------------------------------------------------


def apply_result(state: IncidentState, effect: RunActivity, result: Any, now: datetime) -> None:
    """Record what a finished activity brought back."""
    if effect.activity == names.LOOKUP_KNOWN_ERRORS:
        matches = [KnownErrorMatch.model_validate(match) for match in result]
        if matches != state.suggestions:
            state.suggestions = matches
            shown = [match.model_dump(mode="json", exclude_none=True) for match in matches]
            lifecycle.record(
                state, now, "system", "known_errors_suggested", details={"matches": shown}
            )
    elif effect.activity == names.LOOKUP_SIMILAR_INCIDENTS:
        similar = [SimilarIncident.model_validate(found) for found in result]
        if similar != state.similar:
            state.similar = similar
            shown = [found.model_dump(mode="json") for found in similar]
            lifecycle.record(state, now, "system", "similar_found", details={"incidents": shown})
    elif effect.activity == names.PROPOSE_PROBLEM:
        problem = Problem.model_validate(result)
        state.problem_id = problem.id
        details = {"problem": problem.id, "reason": problem.reason}
        lifecycle.record(state, now, "system", "problem_proposed", details=details)
    elif effect.activity == names.OPEN_BRIDGE:
        state.bridge_url = BridgeInfo.model_validate(result).url
        lifecycle.record(state, now, "system", "bridge_opened", details={"url": state.bridge_url})
    elif effect.activity == names.CORRELATE_INCIDENTS:
        outcome = correlation.CorrelationOutcome.model_validate(result)
        correlation.apply_outcome(state, outcome, now)
    elif effect.activity == names.CREATE_VENDOR_TICKET:
        assert isinstance(effect.arg, VendorTicketRequest)
        opened = VendorTicketResult.model_validate(result)
        ticket = _ticket(state, effect.arg.key)
        ticket.ticket_id, ticket.status, ticket.url, ticket.updated_at = (
            opened.ticket_id,
            opened.status,
            opened.url,
            now,
        )
        details = {"vendor": ticket.vendor, "ticket_id": opened.ticket_id, "status": opened.status}
        lifecycle.record(state, now, "system", "vendor_ticket_opened", details=details)


def apply_failure(state: IncidentState, effect: Effect, error: str, now: datetime) -> None:
    """A side effect that gave up is recorded; it never fails the incident."""
    details: dict[str, Any] = {"error": error}
    if isinstance(effect, SendSignal):
        details |= {"workflow_id": effect.workflow_id, "signal": effect.signal}
        lifecycle.record(state, now, "system", "signal_failed", details=details)
        return
    if isinstance(effect, StartIncident):
        details["number"] = effect.state.number
        lifecycle.record(state, now, "system", "incident_start_failed", details=details)
        return
    arg = effect.arg
    if isinstance(arg, Delivery):
        details |= {
            "event": arg.event,
            "role": arg.role,
            "recipient": arg.recipient,
            "channel": arg.channel,
        }
        lifecycle.record(state, now, "system", "notification_failed", details=details)
    elif isinstance(arg, VendorTicketRequest):
        ticket = _ticket(state, arg.key)
        ticket.status, ticket.updated_at = "failed", now
        lifecycle.record(
            state, now, "system", "vendor_ticket_failed", details=details | {"vendor": arg.vendor}
        )
    else:
        lifecycle.record(state, now, "system", f"{effect.activity}_failed", details=details)


def _ticket(state: IncidentState, key: str) -> VendorTicket:
    return next(ticket for ticket in state.vendor_tickets if ticket.request_key == key)
