"""Who hears what: the recipients and deliveries of one timeline entry.

Pure and deterministic (the workflow calls it after each change and schedules one
`send_notification` activity per delivery). The channels themselves, with their URLs, SMTP
servers and secrets, stay with the worker: an incident's policy copy names channels only
through `notifications.routes`, and so does this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from domain.models import EscalationKind, IncidentState, TimelineEntry, Visibility
from domain.policy import NotificationPolicy, Policy

CALLER = "caller"
ASSIGNEE = "assignee"
GROUP = "group"
INCIDENT_MANAGER = "incident_manager"
STAKEHOLDERS = "stakeholders"
PROBLEM_MANAGER = "problem_manager"
ROLES = (CALLER, ASSIGNEE, GROUP, INCIDENT_MANAGER, STAKEHOLDERS, PROBLEM_MANAGER)

SILENT_KINDS = frozenset({"rejected", "notification_failed", "signal_failed"})
ESCALATION_KINDS = frozenset({"escalate", "escalated"})
ASSIGNEE_KINDS = frozenset(
    {"assign", "sla_warning", "sla_breach", "known_errors_suggested", "vendor_update",
     "vendor_ticket_failed", "return", "impact_suggested"}
)  # fmt: skip
CALLER_KINDS = frozenset({"survey_invited", "status_update", "caller_reminder"})
# The caller's own business: affected callers (who reported the same incident) hear the rest
# of the caller's news, never these.
CALLER_ONLY_KINDS = frozenset({"survey_invited", "caller_reminder"})
MAJOR_KINDS = frozenset({"declare_major", "major_update", "status_update", "undeclare_major"})
# Entries for the service desk group their details name (`notify`): correlation (contract 15).
DESK_KINDS = frozenset({"correlation_suggested", "correlation_parent_opened"})
# Playbook entries that name their recipients as [role, name] pairs in `recipients`
# (`domain.playbook_runs`): a step's owner group, its lead, a notice's list.
ADDRESSED_KINDS = frozenset({"step_failed", "step_due", "step_overdue", "playbook_notice"})
# Entries that already told the incident manager; the automatic hierarchical escalation the
# domain records right after them at the same instant would only repeat the message.
MANAGER_TOLD_BY = frozenset({"created", "sla_breach"})


class Delivery(BaseModel):
    """One message for one recipient on one channel; `key` makes every retry the same send."""

    key: str
    number: str
    event: str
    role: str
    recipient: str
    channel: str
    address: str
    context: dict[str, Any]


def recipients_for(state: IncidentState, entry: TimelineEntry) -> list[tuple[str, str]]:
    """(role, name) pairs who hear about `entry`, each name once, in the order of ROLES."""
    return _recipients(state, entry, _earlier(state, entry))


def deliveries_for(state: IncidentState, entry: TimelineEntry, seq: int) -> list[Delivery]:
    """Recipients times the channels routed to their role; `seq` is the entry's timeline index."""
    notifications = state.policy.notifications
    context = _context(state, entry)
    deliveries: dict[str, Delivery] = {}
    for role, name in _recipients(state, entry, state.timeline[: seq - state.timeline_offset]):
        address = address_of(notifications, name)
        for channel in notifications.routes.get(role, ()):
            key = f"{state.number}/{seq}/{channel}/{address}"
            deliveries.setdefault(
                key,
                Delivery(
                    key=key,
                    number=state.number,
                    event=entry.kind,
                    role=role,
                    recipient=name,
                    channel=channel,
                    address=address,
                    context=context
                    | {"role": role, "recipient": name}
                    | _as_their_caller(state, entry, role, name),
                ),
            )
    return list(deliveries.values())


def _as_their_caller(
    state: IncidentState, entry: TimelineEntry, role: str, name: str
) -> dict[str, Any]:
    """A caller's copy speaks to them as the caller and never names another caller: a reopen
    by the incident's caller reads "by the caller", a mailed comment of an affected caller
    "from another caller"."""
    if role != CALLER:
        return {}
    context: dict[str, Any] = {"caller": name}
    if entry.actor != name and entry.actor == state.caller:
        context["actor"] = "the caller"
    elif entry.actor != name and entry.actor in state.affected_callers:
        context["actor"] = "another caller"
    return context


def address_of(notifications: NotificationPolicy, name: str) -> str:
    if name in notifications.addresses:
        return notifications.addresses[name]
    # A caller known only by address (mail from an unknown sender, [email].unknown_senders)
    return name if "@" in name else f"{name}@{notifications.email_domain}"


# --- the rules ----------------------------------------------------------------------------


def _recipients(
    state: IncidentState, entry: TimelineEntry, earlier: Sequence[TimelineEntry]
) -> list[tuple[str, str]]:
    if entry.kind in SILENT_KINDS:
        return []
    contacts = state.policy.contacts
    wanted: list[tuple[str, str | None]] = []
    if _tells_caller(state, entry):
        wanted.append((CALLER, state.caller))
    wanted += [(CALLER, name) for name in _affected_told(state, entry)]
    if _tells_assignees(entry):
        wanted += [(ASSIGNEE, state.assignee), (GROUP, state.assignment_group)]
    elif _caller_spoke(state, entry):  # the person working it, or the group until assigned
        wanted.append(
            (ASSIGNEE, state.assignee) if state.assignee else (GROUP, state.assignment_group)
        )
    if _tells_incident_manager(state.policy, entry, earlier):
        wanted.append((INCIDENT_MANAGER, contacts.incident_manager))
    if _tells_stakeholders(state.policy, entry, earlier):
        wanted += [(STAKEHOLDERS, name) for name in contacts.stakeholders]
    if entry.kind == "problem_proposed":
        wanted.append((PROBLEM_MANAGER, contacts.problem_manager))
    if entry.kind in DESK_KINDS:
        wanted.append((GROUP, entry.details.get("notify")))
    if entry.kind in ADDRESSED_KINDS:
        wanted += _addressed(entry)
    found: dict[str, str] = {}
    for role, name in wanted:
        if name and name not in found:
            found[name] = role
    return [(role, name) for name, role in found.items()]


def _addressed(entry: TimelineEntry) -> list[tuple[str, str | None]]:
    pairs = entry.details.get("recipients")
    if not isinstance(pairs, list):
        return []
    return [
        (str(pair[0]), str(pair[1]))
        for pair in pairs
        if isinstance(pair, list) and len(pair) == 2 and pair[0] in ROLES
    ]


def _status_changed(entry: TimelineEntry) -> bool:
    # `created` has no from-status: it counts as a change into the first status.
    return entry.to_status is not None and entry.from_status != entry.to_status


def _tells_caller(state: IncidentState, entry: TimelineEntry) -> bool:
    if entry.kind == "comment" and entry.details.get("visibility") != Visibility.PUBLIC:
        return False  # work notes are for the support staff only
    if _status_changed(entry) or entry.kind in CALLER_KINDS:
        return True
    return entry.kind == "comment" and entry.actor != state.caller


def _affected_told(state: IncidentState, entry: TimelineEntry) -> list[str]:
    """Callers who reported the same incident hear its public news as its caller does (never a
    work note); one just counted hears that they were."""
    if entry.kind == "affected":
        added = entry.details.get("caller")
        return [added] if isinstance(added, str) else []
    if entry.kind in CALLER_ONLY_KINDS or not _tells_caller(state, entry):
        return []
    return [name for name in state.affected_callers if name != entry.actor]


def _caller_spoke(state: IncidentState, entry: TimelineEntry) -> bool:
    """A public comment by the caller (an e-mail reply, "Any news?") reaches who works it."""
    if state.caller_comments_silent:  # an incident started before this rule existed
        return False
    public = entry.details.get("visibility") == Visibility.PUBLIC
    return entry.kind == "comment" and public and entry.actor == state.caller


def _tells_assignees(entry: TimelineEntry) -> bool:
    if entry.kind in ASSIGNEE_KINDS:
        return True
    return (
        entry.kind in ESCALATION_KINDS
        and entry.details.get("kind") == EscalationKind.FUNCTIONAL
        and "group" in entry.details
    )


def _tells_incident_manager(
    policy: Policy, entry: TimelineEntry, earlier: Sequence[TimelineEntry]
) -> bool:
    if entry.kind in ("sla_breach", "review_due"):
        return True
    if entry.kind == "update" and entry.details.get("major_kept"):
        return True  # a major incident's priority fell: should it stay major?
    if entry.kind == "created":
        return _created_priority(entry) in policy.escalation.notify_manager_at_creation
    if entry.kind in ESCALATION_KINDS and entry.details.get("kind") == EscalationKind.HIERARCHICAL:
        return not _manager_already_told(policy, entry, earlier)
    return False


def _manager_already_told(
    policy: Policy, entry: TimelineEntry, earlier: Sequence[TimelineEntry]
) -> bool:
    if not earlier or entry.actor != "system":
        return False
    previous = earlier[-1]
    if previous.at != entry.at or previous.kind not in MANAGER_TOLD_BY:
        return False
    return _tells_incident_manager(policy, previous, earlier[:-1])


def _tells_stakeholders(
    policy: Policy, entry: TimelineEntry, earlier: Sequence[TimelineEntry]
) -> bool:
    if entry.kind in MAJOR_KINDS:
        return True
    if entry.kind in ("created", "update"):
        was_major = any(_made_major(policy, before) for before in earlier)
        return _made_major(policy, entry) and not was_major
    return False


def _made_major(policy: Policy, entry: TimelineEntry) -> bool:
    """Whether this entry turned the incident into a major incident (read from the entry alone,
    so the answer does not depend on what happened to the incident afterwards)."""
    majors = policy.major.priorities
    if entry.kind == "declare_major":
        return True
    if entry.kind == "created":
        return _created_priority(entry) in majors
    if entry.kind == "update":
        change = entry.details.get("priority")
        return isinstance(change, list) and len(change) == 2 and change[1] in majors
    return False


def _created_priority(entry: TimelineEntry) -> str | None:
    priority = entry.details.get("priority")
    return priority if isinstance(priority, str) else None


def _earlier(state: IncidentState, entry: TimelineEntry) -> list[TimelineEntry]:
    for index, candidate in enumerate(state.timeline):
        if candidate == entry:
            return state.timeline[:index]
    return state.timeline  # not recorded yet: everything in the timeline came before it


# --- what templates see -------------------------------------------------------------------


def _context(state: IncidentState, entry: TimelineEntry) -> dict[str, Any]:
    return {
        "number": state.number,
        "short_description": state.short_description,
        "priority": state.priority.value,
        "status": state.status.value,
        "major": state.major,
        "category": state.category,
        "subcategory": state.subcategory,
        "service": state.service,
        "caller": state.caller,
        "assignee": state.assignee,
        "assignment_group": state.assignment_group,
        "support_level": state.support_level,
        "pending_reason": state.pending_reason.value if state.pending_reason else None,
        "resolution_code": state.resolution_code.value if state.resolution_code else None,
        "resolution_notes": state.resolution_notes,
        "problem_id": state.problem_id,
        "event": entry.kind,
        "actor": entry.actor,
        "from_status": entry.from_status.value if entry.from_status else None,
        "to_status": entry.to_status.value if entry.to_status else None,
        "at": entry.at.isoformat(),
        "details": entry.details,
    }
