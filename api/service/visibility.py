"""What a principal may be shown of an incident: requesters see only incidents they are the
caller of or were counted as affected on, and never work notes, other callers' names or the
internal side of known errors and reviews (root cause, lessons, internal notes)."""

from __future__ import annotations

from typing import Any, TypeVar

from api import permissions
from api.auth import Principal
from domain.models import Action, IncidentView, KnownErrorMatch, TimelineEntry, Visibility

ViewT = TypeVar("ViewT", bound=IncidentView)

# What a requester may read of a suggested known error; anything else stays with the agents.
PUBLIC_MATCH_FIELDS = frozenset({"id", "title", "score", "workaround"})
# Timeline details only agents read: quoted work notes, and what a review or a known error
# says of the cause.
INTERNAL_DETAILS = frozenset({"last_work_note", "root_cause", "lessons", "internal_notes"})
# Timeline entries about other incidents: the desk's, never a requester's.
AGENTS_ONLY_KINDS = frozenset({"similar_found"})


# What a requester reads in place of another caller's name.
ANOTHER_CALLER = "another caller"

# The playbook is the support staff's checklist: requesters see its public effects (a comment,
# a notice sent to them), not the steps.
PLAYBOOK_KINDS = frozenset(
    {
        "playbook_attached",
        "step_started",
        "step_done",
        "step_failed",
        "step_due",
        "step_overdue",
        "playbook_notice",
        "complete_step",
        "skip_step",
    }
)


def may_see(principal: Principal, view: IncidentView) -> bool:
    if not principal.requester_only:
        return True
    return principal.name == view.caller or principal.name in view.affected_callers


def _other_callers(principal: Principal, view: IncidentView) -> set[str]:
    """The callers of the incident whose names a requester may not read: all but their own."""
    if not principal.requester_only:
        return set()
    return ({view.caller} | set(view.affected_callers)) - {principal.name}


def visible(principal: Principal, view: ViewT) -> ViewT:
    """Requesters never see the last work note, the review, or a known error's internals;
    `allowed_actions` are the reader's own."""
    allowed = permissions.reader_actions(principal, view)
    if principal.requester_only:
        suggestions = [
            KnownErrorMatch.model_validate(match.model_dump(include=set(PUBLIC_MATCH_FIELDS)))
            for match in view.suggestions
        ]
        others = _other_callers(principal, view)
        view = view.model_copy(
            update={
                "last_work_note": None,
                "review": None,
                "suggestions": suggestions,
                "similar": [],  # other people's incidents
                "caller": ANOTHER_CALLER if view.caller in others else view.caller,
                "opened_by": ANOTHER_CALLER if view.opened_by in others else view.opened_by,
                "affected_callers": [n for n in view.affected_callers if n not in others],
                "playbook": None,
                "previous_playbooks": [],
            }
        )
    return view.model_copy(update={"allowed_actions": allowed})


def visible_timeline(
    principal: Principal, entries: list[TimelineEntry], view: IncidentView | None = None
) -> list[TimelineEntry]:
    if not principal.requester_only:
        return entries
    others = _other_callers(principal, view) if view is not None else set()
    return [
        _public_details(entry, others)
        for entry in entries
        if not _work_note(entry) and entry.kind not in AGENTS_ONLY_KINDS | PLAYBOOK_KINDS
    ]


def _public_details(entry: TimelineEntry, others: set[str]) -> TimelineEntry:
    details = _without_internal(entry.details)
    if details.get("caller") in others:
        details["caller"] = ANOTHER_CALLER
    if entry.actor in others:
        entry = entry.model_copy(update={"actor": ANOTHER_CALLER})
    if isinstance(details.get("matches"), list):
        details["matches"] = [
            {key: value for key, value in match.items() if key in PUBLIC_MATCH_FIELDS}
            for match in details["matches"]
            if isinstance(match, dict)
        ]
    if details == entry.details:
        return entry
    return entry.model_copy(update={"details": details})


def _without_internal(details: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in details.items() if key not in INTERNAL_DETAILS}


def _work_note(entry: TimelineEntry) -> bool:
    return (
        entry.kind == Action.COMMENT.value
        and entry.details.get("visibility") == Visibility.WORK_NOTE
    )
