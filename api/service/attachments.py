"""Attachments of an incident (contract 13): add one (from the API or from a mail), list them,
fetch one. Files are stored outside workflow state; the incident's timeline gets a small
`attachment_added` entry through the signal of that name."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime

import structlog

from api.auth import Principal
from api.service import people
from api.service.context import Services
from api.service.errors import Conflict, NotFound, Unprocessable
from api.service.incidents import handle_of, read
from domain import lifecycle, names
from domain.attachments import AttachmentAdded, AttachmentInfo
from domain.models import Action
from recordstore.attachments import AttachmentStore

log = structlog.get_logger()
SAFE_NAME = re.compile(r"[^\w.+@()\[\] -]")


def store_of(services: Services) -> AttachmentStore:
    return AttachmentStore(services.store.database, services.settings.resolved_attachments_dir)


def clean_name(name: str | None) -> str:
    """A file name without directories, control characters or quotes; never empty."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = SAFE_NAME.sub("_", base).strip(" .")
    return cleaned[:255] or "attachment"


async def add(
    services: Services,
    principal: Principal,
    number: str,
    *,
    name: str | None,
    content_type: str | None,
    data: bytes,
    source: str = "api",
    attachment_id: str | None = None,
) -> AttachmentInfo:
    """Store the file and record it on the incident. `attachment_id` makes a repeat (a mail
    applied again after a crash) a no-op."""
    view = await read(services, principal, number)  # 404 unless the principal may see it
    # Adding a file is work on the incident, as a comment is: the caller, or staff of its group.
    people.authorize_on(principal, view, Action.COMMENT)
    if view.status in lifecycle.FINAL:
        raise Conflict(
            f"{number} is {view.status}: it takes no more attachments", state=view.status
        )
    limits = services.policy.email
    if len(data) > limits.max_attachment_bytes:
        raise Unprocessable(
            "file", f"{len(data)} bytes is over the attachment cap of {limits.max_attachment_bytes}"
        )
    store = store_of(services)
    attachment_id = attachment_id or uuid.uuid4().hex
    existing = await store.get(number, attachment_id)
    if existing is not None:
        return existing
    if await store.count(number) >= limits.max_attachments:
        raise Unprocessable(
            "file", f"{number} already has the most attachments allowed ({limits.max_attachments})"
        )
    sha256 = store.put(data)
    info = AttachmentInfo(
        id=attachment_id,
        name=clean_name(name),
        content_type=(content_type or "application/octet-stream")[:255],
        size=len(data),
        sha256=sha256,
        uploaded_by=principal.name,
        source=source,
        added_at=datetime.now(UTC),
    )
    await store.add(number, info)
    event = AttachmentAdded(**info.model_dump(), request_id=f"attachment:{attachment_id}")
    await handle_of(services, number).signal(names.ATTACHMENT_ADDED_SIGNAL, event)
    log.info("attachment added", incident=number, attachment=attachment_id, bytes=len(data))
    return info


def mail_attachment_id(message_id: str, index: int) -> str:
    return hashlib.sha256(f"{message_id}#{index}".encode()).hexdigest()[:32]


async def listing(services: Services, principal: Principal, number: str) -> list[AttachmentInfo]:
    await read(services, principal, number)
    return await store_of(services).list(number)


async def fetch(
    services: Services, principal: Principal, number: str, attachment_id: str
) -> tuple[AttachmentInfo, bytes]:
    """Only an attachment of this incident, for whoever may read the incident; anything else
    is the same 404."""
    await read(services, principal, number)
    store = store_of(services)
    info = await store.get(number, attachment_id)
    if info is None:
        raise NotFound(f"incident {number} has no attachment {attachment_id}")
    try:
        return info, store.read(info.sha256)
    except FileNotFoundError:
        raise NotFound(f"the file of attachment {attachment_id} is missing") from None
