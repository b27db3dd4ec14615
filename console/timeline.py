"""Timeline entries as a person reads them: what happened in plain words, who, when, and the
entry's own text (a comment, a note, a reason). Requesters get the public timeline from the
service (`visible_timeline`: no work notes); agents see work notes marked as such."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.models import TimelineEntry, Visibility

PLAIN = {
    "created": "Incident recorded",
    "assign": "Assigned",
    "start": "Work started",
    "pend": "Put on hold",
    "resume": "Work resumed",
    "resolve": "Resolved",
    "reopen": "Reopened",
    "close": "Closed",
    "cancel": "Canceled",
    "comment": "Comment",
    "update": "Details updated",
    "escalate": "Escalated",
    "escalated": "Escalated",
    "declare_major": "Declared a major incident",
    "undeclare_major": "No longer a major incident",
    "status_update": "Status update",
    "link_parent": "Linked to a parent incident",
    "attachment_added": "File attached",
    "survey": "Survey answered",
    "sla_breach": "A target time was missed",
    "sla_warning": "A target time is near",
    "rejected": "A message was refused",
}
# The entry's own words, in the order they are looked for.
TEXT_KEYS = ("text", "note", "resolution_notes", "reason", "comment", "summary", "name")


@dataclass
class Shown:
    at: datetime
    actor: str
    what: str
    text: str
    work_note: bool
    kind: str
    details: dict[str, object]


def shown(entry: TimelineEntry, staff: bool) -> Shown:
    details = entry.details
    text = next((str(details[k]) for k in TEXT_KEYS if isinstance(details.get(k), str)), "")
    what = PLAIN.get(entry.kind, entry.kind.replace("_", " ").capitalize())
    if entry.to_status is not None and entry.from_status != entry.to_status:
        status = entry.to_status.value.replace("_", " ")
        if status not in what.lower():
            what += f" (now {status})"
    if entry.kind == "assign" and isinstance(details.get("group"), str):
        what += f" to {details['group']}"
    return Shown(
        at=entry.at,
        actor=entry.actor,
        what=what,
        text=text,
        work_note=details.get("visibility") == Visibility.WORK_NOTE,
        kind=entry.kind,
        details=details if staff else {},
    )
