"""Attachments on an incident (contract 13): the files live outside workflow state (a
content-addressed directory and a record-store table); the incident's timeline gets one small
`attachment_added` entry per file, from the `attachment_added` signal the API or the mail
listener sends once the file is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain import lifecycle
from domain.models import IncidentState

ATTACHMENT_ADDED = "attachment_added"
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class AttachmentInfo(BaseModel):
    """What the incident shows of one attachment."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    size: Annotated[int, Field(ge=0)]
    sha256: Sha256
    uploaded_by: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    source: Annotated[str, StringConstraints(max_length=16)] = "api"  # api or email
    added_at: datetime


class AttachmentAdded(AttachmentInfo):
    """The signal's payload; `request_id` makes a repeated signal a no-op."""

    request_id: Annotated[str, StringConstraints(max_length=200)]


def attachment_added(state: IncidentState, event: AttachmentAdded, now: datetime) -> None:
    details = event.model_dump(mode="json", exclude={"request_id", "added_at"})
    lifecycle.record(state, now, event.uploaded_by, ATTACHMENT_ADDED, details=details)
