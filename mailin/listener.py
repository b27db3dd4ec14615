"""The SMTP listener (aiosmtpd): a message is answered 250 only once the record store holds it,
so nothing acknowledged is ever lost; over `[email].max_message_bytes` it is refused with 552
while it is being sent."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailin.desk import TRANSIENT, MailDesk

log = structlog.get_logger()


class InboundHandler:
    def __init__(self, desk: MailDesk, max_bytes: int) -> None:
        self.desk = desk
        self.max_bytes = max_bytes

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > self.max_bytes:  # aiosmtpd refuses most of these while they arrive
            log.warning("mail refused: too large", bytes=len(raw), peer=str(session.peer))
            return f"552 5.3.4 Message too big: the limit is {self.max_bytes} bytes"
        # As a delivering MTA does: the envelope sender stays with the message (bounces: <>).
        raw = f"Return-Path: <{envelope.mail_from or ''}>\r\n".encode() + raw
        try:
            new = await self.desk.take(raw, envelope.mail_from)
        except TRANSIENT as error:
            log.warning("mail deferred: cannot store it", error=repr(error))
            return "451 4.3.0 Cannot store the message now; please try again later"
        except ValueError as error:  # unreadable beyond repair
            log.warning("mail refused: unreadable", error=repr(error))
            return "554 5.6.0 Cannot read the message"
        return "250 2.0.0 Accepted" if new else "250 2.0.0 Already received"


async def start_listener(desk: MailDesk, host: str, port: int, max_bytes: int) -> asyncio.Server:
    handler = InboundHandler(desk, max_bytes)

    def protocol() -> Any:
        return SMTP(
            handler,
            hostname="incidentflow",
            ident="incidentflow mail listener",
            data_size_limit=max_bytes,
            decode_data=False,
        )

    server = await asyncio.get_running_loop().create_server(protocol, host=host, port=port)
    log.info("mail listener started", host=host, port=port)
    return server
