"""What a principal may be shown of an incident: requesters see only incidents they are the
caller of, and never work notes."""

from __future__ import annotations

from typing import TypeVar

from api import permissions
from api.auth import Principal
from domain.models import Action, IncidentView, TimelineEntry, Visibility

ViewT = TypeVar("ViewT", bound=IncidentView)


def may_see(principal: Principal, view: IncidentView) -> bool:
    return not principal.requester_only or view.caller == principal.name


def visible(principal: Principal, view: ViewT) -> ViewT:
    """Requesters never see the last work note; `allowed_actions` are the reader's own."""
    if principal.requester_only and view.last_work_note is not None:
        view = view.model_copy(update={"last_work_note": None})
    return view.model_copy(update={"allowed_actions": permissions.reader_actions(principal, view)})


def visible_timeline(principal: Principal, entries: list[TimelineEntry]) -> list[TimelineEntry]:
    if not principal.requester_only:
        return entries
    return [_without_work_notes(entry) for entry in entries if not _work_note(entry)]


def _without_work_notes(entry: TimelineEntry) -> TimelineEntry:
    # Stakeholder status updates of a major incident quote the last work note.
    if "last_work_note" not in entry.details:
        return entry
    details = {key: value for key, value in entry.details.items() if key != "last_work_note"}
    return entry.model_copy(update={"details": details})


def _work_note(entry: TimelineEntry) -> bool:
    return (
        entry.kind == Action.COMMENT.value
        and entry.details.get("visibility") == Visibility.WORK_NOTE
    )
