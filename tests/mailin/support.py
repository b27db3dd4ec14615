"""Real SMTP into the mail listener, beside the API stack: what an MTA and a mail client do."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from core.settings import Settings
from mailin.desk import MailDesk
from mailin.service import running
from recordstore import mail
from tests.support.apistack import Stack, free_port

DESK = "servicedesk@example.com"


def message(
    sender: str,
    subject: str,
    body: str,
    *,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> EmailMessage:
    found = EmailMessage()
    found["From"] = sender
    found["To"] = DESK
    found["Subject"] = subject
    found["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.org>"
    for name, value in (headers or {}).items():
        found[name] = value
    found.set_content(body)
    if html is not None:
        found.add_alternative(html, subtype="html")
    for name, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        found.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return found


def smtp_send(port: int, found: EmailMessage | bytes, mail_from: str | None = None) -> Any:
    """Send as an MTA would; returns the server's answer to the data."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        if isinstance(found, bytes):
            return client.sendmail(mail_from or "x@example.org", [DESK], found)
        if mail_from is not None:
            return client.send_message(found, from_addr=mail_from)
        return client.send_message(found)


async def send(port: int, found: EmailMessage | bytes, mail_from: str | None = None) -> Any:
    return await asyncio.to_thread(smtp_send, port, found, mail_from)


def mail_settings(stack: Stack, tmp: Path, policy_text: str | None = None) -> Settings:
    update: dict[str, Any] = {"smtp_port": free_port()}
    if policy_text is not None:
        policy = tmp / f"policy-{uuid.uuid4().hex[:6]}.toml"
        policy.write_text(policy_text)
        update["policy_file"] = policy
    return stack.settings.model_copy(update=update)


@asynccontextmanager
async def listener(settings: Settings, *, apply: bool = True) -> AsyncIterator[MailDesk]:
    async with running(settings, apply=apply) as desk:
        yield desk


async def outcome(stack: Stack, message_id: str, seconds: float = 20) -> tuple[str, Any, Any]:
    """Wait until the listener has applied (or ignored, or rejected) the message."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await mail.outcome_of(stack.store.database, message_id)
        if found[0] not in ("pending", "unknown"):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{message_id} not applied: {found}")
        await asyncio.sleep(0.1)
