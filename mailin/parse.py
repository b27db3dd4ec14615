"""Reading one inbound message: who sent it, what it answers, what it says, what it carries.

Pure (no I/O): the listener, the poller and the mail desk all read messages through here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr

import html2text
from mailparser_reply import EmailReplyParser

TOKEN = re.compile(r"\[(INC\d{7})\]")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
BOUNCE_SENDERS = ("mailer-daemon", "postmaster")
BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fwd?|wg)\s*:\s*)+", re.IGNORECASE)
_reply_parser = EmailReplyParser(languages=["en", "de", "fr", "es", "nl", "it"])


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundMail:
    message_id: str
    sender: str  # the From address, lower case
    subject: str
    in_reply_to: list[str]
    references: list[str]
    text: str  # the whole body as plain text (HTML converted)
    loop_reason: str | None  # why this is an automatic message not to answer, if it is
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def token(self) -> str | None:
        """The incident number quoted in the subject as `[INC0001234]`."""
        found = TOKEN.search(self.subject)
        return found.group(1) if found else None

    @property
    def answers(self) -> list[str]:
        """The Message-IDs this one replies to, nearest first."""
        return [*self.in_reply_to, *reversed(self.references)]

    @property
    def reply(self) -> str:
        """What the sender wrote this time: quoted history and signature stripped."""
        return reply_text(self.text)

    @property
    def short_description(self) -> str:
        bare = REPLY_PREFIX.sub("", self.subject).strip()
        return (bare or "(no subject)")[:160]


def read_message(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def message_id_of(message: EmailMessage, raw: bytes) -> str:
    """The Message-ID; a message without one is known by a digest of its bytes."""
    found = MESSAGE_ID.search(str(message.get("Message-ID", "")))
    if found:
        return found.group(0)
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@incidentflow.invalid>"


def sender_of(message: EmailMessage, envelope_from: str | None = None) -> str:
    _, address = parseaddr(str(message.get("From", "")))
    return (address or envelope_from or "").strip().lower()


def return_path(message: EmailMessage) -> str | None:
    """The envelope sender the delivering server recorded (`Return-Path: <>` for a bounce);
    None when there is no such header."""
    if "Return-Path" not in message:
        return None
    return str(message["Return-Path"]).strip().strip("<>").strip().lower()


def parse(raw: bytes, envelope_from: str | None = None) -> InboundMail:
    message = read_message(raw)
    if envelope_from is None:
        envelope_from = return_path(message)
    return InboundMail(
        message_id=message_id_of(message, raw),
        sender=sender_of(message, envelope_from),
        subject=" ".join(str(message.get("Subject", "")).split()),
        in_reply_to=MESSAGE_ID.findall(str(message.get("In-Reply-To", ""))),
        references=MESSAGE_ID.findall(str(message.get("References", ""))),
        text=body_text(message),
        loop_reason=loop_reason(message, envelope_from),
        attachments=attachments_of(message),
    )


def loop_reason(message: EmailMessage, envelope_from: str | None) -> str | None:
    """RFC 3834 auto-replies, bulk and list mail, vacation replies and bounces: never answered,
    never applied, so two robots cannot mail each other for ever."""
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond"):
        if header in message:
            return f"{header} header"
    if message.get_content_type() == "multipart/report":
        return "a delivery report (bounce)"
    if envelope_from == "":  # MAIL FROM:<>, what bounces are sent with
        return "a null return path (bounce)"
    for address in (sender_of(message), envelope_from or ""):
        if address.split("@")[0] in BOUNCE_SENDERS:
            return f"sent by {address} (bounce)"
    return None


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        return html_to_text(content)
    return content


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0  # keep paragraphs as written
    converter.ignore_images = True
    return converter.handle(html).strip()


def reply_text(text: str) -> str:
    """The library strips quoted history under an "On ... wrote:" line and signatures; a
    trailing block of bare `>` lines (a client that quotes without a header) goes too."""
    replies = _reply_parser.read(text=text).replies
    found = (replies[0].body or replies[0].content or "") if replies else text
    lines = found.strip().splitlines()
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()
    return "\n".join(lines).strip()


def attachments_of(message: EmailMessage) -> list[Attachment]:
    found: list[Attachment] = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        name = part.get_filename() or f"attachment-{len(found) + 1}"
        found.append(
            Attachment(name=name[:255], content_type=part.get_content_type(), data=payload)
        )
    return found
