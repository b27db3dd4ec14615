"""Notification delivery: one message, to one recipient, on one channel (webhook or e-mail).

Whom to tell is decided in `workflows.notifications`; this adapter renders the event's template
and sends it. Every send carries the delivery's key (the webhook's `Idempotency-Key` header,
the e-mail's `Message-ID`), so a retry after a lost answer is recognisable as the same message.
Failures that another attempt may cure raise retryable errors; a refusal is final.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
import string
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain import names
from domain.directory import Directory
from domain.notifications import Delivery
from domain.policy import NotificationChannel, Policy

log = structlog.get_logger()

SHIPPED_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "notifications"
DEFAULT_TEMPLATE = "default"
SMTP_TIMEOUT_SECONDS = 30.0
MAX_RETRY_AFTER = timedelta(hours=1)

UNKNOWN_CHANNEL = "UnknownChannel"
NOTIFICATION_REJECTED = "NotificationRejected"  # final: the receiver refused the message
NOTIFICATION_UNAVAILABLE = "NotificationUnavailable"  # retried: the receiver is down or busy


class SentMail(Protocol):
    """Where the Message-IDs we send are kept, so replies find their incident."""

    async def __call__(self, message_id: str, number: str) -> None: ...


class NotificationActivities:
    def __init__(
        self,
        policy: Policy,
        http: httpx.AsyncClient,
        templates_dir: Path,
        directory: Directory | None = None,
        *,
        reply_to: str | None = None,
        sent_mail: SentMail | None = None,
    ) -> None:
        self._channels = policy.notifications.channels
        self._directory = directory or Directory()
        self._http = http
        self._reply_to = reply_to or policy.email.service_desk_address
        self._sent_mail = sent_mail
        override = policy.notifications.templates_dir
        # An override directory need not hold every template: the shipped ones fill the gaps.
        self._template_dirs = [Path(override), templates_dir] if override else [templates_dir]

    @activity.defn(name=names.SEND_NOTIFICATION)
    async def send_notification(self, delivery: Delivery) -> None:
        logger = log.bind(
            incident=delivery.number,
            key=delivery.key,
            channel=delivery.channel,
            attempt=activity.info().attempt,
        )
        channel = self._channels.get(delivery.channel)
        if channel is None:
            known = ", ".join(self._channels) or "none"
            raise ApplicationError(
                f"unknown notification channel '{delivery.channel}' (known: {known})",
                type=UNKNOWN_CHANNEL,
                non_retryable=True,
            )
        delivery = addressed(delivery, self._directory)
        subject, body = render(delivery, self._template_dirs)
        if channel.type == "webhook":
            await self._post(delivery.channel, channel, delivery, subject, body)
        else:
            message = compose_mail(channel, delivery, subject, body, reply_to=self._reply_to)
            await send_mail(channel, message)
            if self._sent_mail is not None:
                for sent in (message["Message-ID"], thread_id(delivery.number, channel.sender)):
                    await self._sent_mail(sent, delivery.number)
        logger.info("notification sent", timeline_event=delivery.event, to=delivery.recipient)

    async def _post(
        self,
        name: str,
        channel: NotificationChannel,
        delivery: Delivery,
        subject: str,
        body: str,
    ) -> None:
        assert channel.url is not None  # the policy refuses a webhook channel without one
        payload = {
            "text": f"{subject}\n{body}",
            "event": delivery.event,
            "incident": delivery.number,
            "recipient": delivery.recipient,
            "role": delivery.role,
            "key": delivery.key,
        }
        headers = {**channel.headers, "Idempotency-Key": delivery.key}
        try:
            response = await self._http.post(channel.url, json=payload, headers=headers)
        except httpx.TransportError as error:  # connection refused, reset, timed out
            raise ApplicationError(
                f"webhook channel '{name}' unreachable: {error!r}", type=NOTIFICATION_UNAVAILABLE
            ) from error
        raise_for_status(
            response,
            f"webhook channel '{name}'",
            rejected=NOTIFICATION_REJECTED,
            unavailable=NOTIFICATION_UNAVAILABLE,
        )


def addressed(delivery: Delivery, directory: Directory) -> Delivery:
    """The directory's address for a recipient that is a person or group of it (contract 11);
    a name it does not know keeps the address the incident's policy gave."""
    address = directory.email_of(delivery.recipient)
    if address is None or address == delivery.address:
        return delivery
    return delivery.model_copy(update={"address": address})


# --- templates ----------------------------------------------------------------------------


def render(delivery: Delivery, template_dirs: list[Path]) -> tuple[str, str]:
    """The event's template (or the default one), filled from the delivery's context: the
    first line is the subject, the rest the body. Unknown `$names` stay as written."""
    template = _find_template(delivery.event, template_dirs)
    values = flatten(delivery.context) | delivery.model_dump(
        include={"number", "event", "role", "recipient"}
    )
    text = string.Template(template.read_text(encoding="utf-8")).safe_substitute(values)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip("\n") + "\n"


def _find_template(event: str, template_dirs: list[Path]) -> Path:
    for name in (event, DEFAULT_TEMPLATE):
        for directory in template_dirs:
            path = directory / f"{name}.txt"
            if path.is_file():
                return path
    searched = ", ".join(str(directory) for directory in template_dirs)
    raise ApplicationError(
        f"no notification template for '{event}' and no {DEFAULT_TEMPLATE}.txt in {searched}",
        type="TemplateMissing",
        non_retryable=True,
    )


def flatten(context: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested details become `$details_note`; lists are comma-separated; None is empty."""
    values: dict[str, str] = {}
    for key, value in context.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            values |= flatten(value, f"{name}_")
        elif isinstance(value, list | tuple):
            values[name] = ", ".join(_text(item) for item in value)
        else:
            values[name] = _text(value)
    return values


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# --- HTTP answers (shared with the vendor adapter) ----------------------------------------


def raise_for_status(
    response: httpx.Response, what: str, *, rejected: str, unavailable: str
) -> None:
    """2xx passes. 429 and 5xx raise a retryable error that honours Retry-After; any other
    answer raises a final one naming the status and the start of the body."""
    status = response.status_code
    if 200 <= status < 300:
        return
    excerpt = response.text[:300]
    message = f"{what} answered {status}: {excerpt}" if excerpt else f"{what} answered {status}"
    if status == 429 or status >= 500:
        raise ApplicationError(
            message, type=unavailable, next_retry_delay=retry_after(response.headers)
        )
    raise ApplicationError(
        message, {"status": status, "body": excerpt}, type=rejected, non_retryable=True
    )


def retry_after(headers: Mapping[str, str]) -> timedelta | None:
    """Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - datetime.now(UTC)
    return min(max(delay, timedelta(seconds=1)), MAX_RETRY_AFTER)


# --- e-mail -------------------------------------------------------------------------------


def compose_mail(
    channel: NotificationChannel,
    delivery: Delivery,
    subject: str,
    body: str,
    *,
    reply_to: str | None = None,
) -> EmailMessage:
    """Every mail threads: its own Message-ID, In-Reply-To and References to the incident's
    thread, the `[INC...]` token in the subject, and Reply-To the service desk's address."""
    token = f"[{delivery.number}]"
    message = EmailMessage()
    message["From"] = channel.sender
    message["To"] = delivery.address
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject if token in subject else f"{token} {subject}"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(delivery.key, channel.sender)
    thread = thread_id(delivery.number, channel.sender)
    message["In-Reply-To"] = thread
    message["References"] = thread
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders stay quiet
    message["X-Incidentflow-Key"] = delivery.key
    message["X-Incidentflow-Incident"] = delivery.number
    message.set_content(body)
    return message


def message_id(key: str, sender: str) -> str:
    """The same delivery key always gives the same Message-ID, so a retried send that the
    server had in fact accepted shows up as a duplicate of the same message."""
    domain = sender.rpartition("@")[2] or "incidentflow"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def thread_id(number: str, sender: str) -> str:
    """The incident's thread: every mail about it refers to this id, so mail clients group
    them and any reply names it in References."""
    domain = sender.rpartition("@")[2] or "incidentflow"
    return f"<{number}.thread@{domain}>"


async def send_mail(channel: NotificationChannel, message: EmailMessage) -> None:
    # smtplib blocks: a thread keeps the worker's event loop free.
    await asyncio.to_thread(_send_mail, channel, message)


def _send_mail(channel: NotificationChannel, message: EmailMessage) -> None:
    server = f"SMTP server {channel.host}:{channel.port}"
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if channel.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if channel.username:
                smtp.login(channel.username, channel.password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        detail = "; ".join(
            f"{to}: {code} {reply!r}" for to, (code, reply) in error.recipients.items()
        )
        _smtp_failure(server, min(codes, default=500), f"refused {detail}")
    except smtplib.SMTPResponseException as error:
        _smtp_failure(server, error.smtp_code, f"answered {error.smtp_code} {error.smtp_error!r}")
    except smtplib.SMTPNotSupportedError as error:  # STARTTLS or AUTH configured, not offered
        raise ApplicationError(
            f"{server}: {error}", type=NOTIFICATION_REJECTED, non_retryable=True
        ) from error
    except (smtplib.SMTPException, OSError) as error:  # refused, reset, timed out
        raise ApplicationError(
            f"{server} unreachable: {error!r}", type=NOTIFICATION_UNAVAILABLE
        ) from error


def _smtp_failure(server: str, code: int, what: str) -> None:
    """A permanent (5xx) reply is final; a transient (4xx) one is worth another attempt."""
    permanent = 500 <= code < 600
    raise ApplicationError(
        f"{server} {what}",
        {"smtp_code": code},
        type=NOTIFICATION_REJECTED if permanent else NOTIFICATION_UNAVAILABLE,
        non_retryable=permanent,
    )
