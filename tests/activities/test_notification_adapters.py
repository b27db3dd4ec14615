"""The notification adapter against real local servers: an HTTP receiver and an SMTP server.

Single sends run in `ActivityEnvironment`; retries run inside a small workflow on the
time-skipping server, so what is shown is Temporal's own retrying with the adapter's errors.
"""

from __future__ import annotations

import email
import email.policy
import string
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.notifications import (
    SHIPPED_TEMPLATES,
    NotificationActivities,
    flatten,
    message_id,
)
from domain import lifecycle
from domain.models import Action, IncidentState
from domain.notifications import Delivery, deliveries_for
from domain.policy import NotificationChannel, NotificationPolicy, Policy
from tests.support.apistack import free_port
from tests.support.factories import new_incident
from tests.support.httpstub import HttpStub, http_stub

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SENDER = "incidents@corp.example"


# --- local servers --------------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps every accepted message; refuses the addresses in `unknown`."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []
        self.unknown: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.unknown:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        ok = data.password == b"mail-secret"
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,  # a local test server without a certificate
    )
    controller.start()
    yield inbox, port
    controller.stop()


@pytest_asyncio.fixture
async def stub() -> AsyncIterator[HttpStub]:
    async with http_stub() as running:
        yield running


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def channels_policy(
    webhook_url: str, smtp_port: int, templates_dir: Path | None = None, **mail: Any
) -> Policy:
    return Policy(
        notifications=NotificationPolicy(
            email_domain="corp.example",
            routes={"caller": ("mail",), "assignee": ("chat",), "group": ("chat",)},
            templates_dir=str(templates_dir) if templates_dir else None,
            channels={
                "chat": NotificationChannel(
                    type="webhook", url=webhook_url, headers={"X-Chat-Token": "chat-secret"}
                ),
                "mail": NotificationChannel(
                    type="email", host="127.0.0.1", port=smtp_port, sender=SENDER, **mail
                ),
            },
        )
    )


def adapter(policy: Policy, http: httpx.AsyncClient) -> NotificationActivities:
    return NotificationActivities(policy, http, SHIPPED_TEMPLATES)


def working(policy: Policy) -> IncidentState:
    state = new_incident(policy, NOW, caller="alice", short_description="VPN drops every hour")
    act(state, Action.ASSIGN, group="service-desk", assignee="sam")
    act(state, Action.START)
    return state


def act(state: IncidentState, action: Action, **body: Any) -> list[Delivery]:
    request = lifecycle.TRANSITIONS[action].request(actor="sam", **body)
    entry = lifecycle.apply(state, action, request, NOW)
    return deliveries_for(state, entry, len(state.timeline) - 1)


def on(deliveries: list[Delivery], role: str) -> Delivery:
    (found,) = [delivery for delivery in deliveries if delivery.role == role]
    return found


async def send(activities: NotificationActivities, delivery: Delivery) -> None:
    await ActivityEnvironment().run(activities.send_notification, delivery)


# --- templates ------------------------------------------------------------------------------


def test_every_shipped_template_has_a_subject_and_only_known_placeholders() -> None:
    policy = channels_policy("http://127.0.0.1:9/hook", 25)
    (delivery, *_) = act(working(policy), Action.PEND, reason="awaiting_caller", note="n")
    known = set(flatten(delivery.context)) | {"role", "recipient"}
    templates = sorted(SHIPPED_TEMPLATES.glob("*.txt"))
    assert {path.stem for path in templates} >= {
        "default", "created", "assign", "pend", "resolve", "reopen", "close", "cancel",
        "sla_warning", "sla_breach", "escalated", "declare_major", "major_update",
        "problem_proposed",
    }  # fmt: skip
    for path in templates:
        text = path.read_text()
        assert text.partition("\n")[0].strip(), f"{path.name}: no subject line"
        used = {
            match.group("named") or match.group("braced")
            for match in string.Template.pattern.finditer(text)
            if match.group("named") or match.group("braced")
        }
        unknown = {name for name in used if name not in known and not name.startswith("details_")}
        assert not unknown, f"{path.name}: unknown placeholders {unknown}"


# --- webhook --------------------------------------------------------------------------------


async def test_a_webhook_gets_slack_text_the_key_and_the_channel_headers(
    stub: HttpStub, http: httpx.AsyncClient
) -> None:
    policy = channels_policy(f"{stub.url}/hooks/chat", free_port())
    state = new_incident(policy, NOW, caller="alice", short_description="VPN drops every hour")
    delivery = on(act(state, Action.ASSIGN, group="service-desk", assignee="sam"), "assignee")
    await send(adapter(policy, http), delivery)

    (seen,) = stub.requests
    assert (seen.method, seen.path) == ("POST", "/hooks/chat")
    assert seen.key == delivery.key == f"{state.number}/1/chat/sam@corp.example"
    assert seen.headers["x-chat-token"] == "chat-secret"
    assert seen.json["text"].startswith(
        f"[{state.number}] Assigned to service-desk: VPN drops every hour\n"
    )
    assert "Assignee:   sam" in seen.json["text"]
    assert {k: seen.json[k] for k in ("event", "incident", "recipient", "role", "key")} == {
        "event": "assign",
        "incident": state.number,
        "recipient": "sam",
        "role": "assignee",
        "key": delivery.key,
    }


async def test_an_event_without_its_own_template_uses_the_default(
    stub: HttpStub, http: httpx.AsyncClient
) -> None:
    policy = channels_policy(f"{stub.url}/hooks/chat", free_port())
    state = working(policy)
    delivery = on(act(state, Action.ASSIGN, group="network-l1", assignee="nina"), "assignee")
    delivery = delivery.model_copy(update={"event": "link_parent"})
    await send(adapter(policy, http), delivery)
    assert (
        stub.requests[0]
        .json["text"]
        .startswith(f"[{state.number}] VPN drops every hour: link_parent\n")
    )


async def test_templates_dir_in_the_policy_overrides_the_shipped_templates(
    stub: HttpStub, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "assign.txt").write_text("Yours now: $number\nGroup $details_group, $$5 bet\n")
    policy = channels_policy(f"{stub.url}/hooks/chat", free_port(), templates_dir=tmp_path)
    state = working(policy)
    assign = on(act(state, Action.ASSIGN, group="network-l1", assignee="nina"), "assignee")
    await send(adapter(policy, http), assign)
    assert (
        stub.requests[-1].json["text"] == f"Yours now: {state.number}\nGroup network-l1, $5 bet\n"
    )

    warning = assign.model_copy(update={"event": "sla_warning"})  # not overridden: shipped
    await send(adapter(policy, http), warning)
    assert "SLA warning" in stub.requests[-1].json["text"]


async def test_a_busy_webhook_is_retried_after_its_retry_after(
    stub: HttpStub, http: httpx.AsyncClient
) -> None:
    policy = channels_policy(f"{stub.url}/hooks/chat", free_port())
    delivery = on(act(working(policy), Action.ASSIGN, group="network-l1", assignee="n"), "assignee")
    stub.answer(1, 429, retry_after=7)
    with pytest.raises(ApplicationError) as raised:
        await send(adapter(policy, http), delivery)
    assert raised.value.type == "NotificationUnavailable" and not raised.value.non_retryable
    assert raised.value.next_retry_delay == timedelta(seconds=7)


async def test_an_unreachable_webhook_is_retryable(http: httpx.AsyncClient) -> None:
    policy = channels_policy(f"http://127.0.0.1:{free_port()}/hook", free_port())
    delivery = on(act(working(policy), Action.ASSIGN, group="network-l1", assignee="n"), "assignee")
    with pytest.raises(ApplicationError) as raised:
        await send(adapter(policy, http), delivery)
    assert raised.value.type == "NotificationUnavailable" and not raised.value.non_retryable
    assert "unreachable" in raised.value.message


async def test_an_unknown_channel_is_final(http: httpx.AsyncClient) -> None:
    policy = channels_policy("http://127.0.0.1:9/hook", free_port())
    delivery = on(act(working(policy), Action.ASSIGN, group="network-l1", assignee="n"), "assignee")
    delivery = delivery.model_copy(update={"channel": "pager"})
    with pytest.raises(ApplicationError) as raised:
        await send(adapter(policy, http), delivery)
    assert raised.value.type == "UnknownChannel" and raised.value.non_retryable
    assert "'pager'" in raised.value.message and "chat, mail" in raised.value.message


# --- e-mail ---------------------------------------------------------------------------------


async def test_a_pend_mail_tells_the_caller_why(
    smtp: tuple[Inbox, int], http: httpx.AsyncClient
) -> None:
    inbox, port = smtp
    policy = channels_policy("http://127.0.0.1:9/hook", port)
    state = working(policy)
    deliveries = act(
        state, Action.PEND, reason="awaiting_caller", note="Which office are you working from?"
    )
    delivery = on(deliveries, "caller")
    assert (delivery.role, delivery.address) == ("caller", "alice@corp.example")
    await send(adapter(policy, http), delivery)

    (message,) = inbox.messages
    assert message["To"] == "alice@corp.example" and message["From"] == SENDER
    assert message["Subject"].startswith(f"[{state.number}] On hold (awaiting_caller)")
    assert message["Message-ID"] == message_id(delivery.key, SENDER)
    body = message.get_content()
    assert "Which office are you working from?" in body
    assert "Why: awaiting_caller" in body
    # Caller texts speak to a person (issue 15): a reply, never an API call.
    assert "reply to this e-mail" in body and "POST /incidents" not in body


async def test_a_resolve_mail_tells_the_caller_how_to_confirm_or_reopen(
    smtp: tuple[Inbox, int], http: httpx.AsyncClient
) -> None:
    inbox, port = smtp
    policy = channels_policy("http://127.0.0.1:9/hook", port)
    state = working(policy)
    deliveries = act(
        state, Action.RESOLVE, resolution_code="fixed", resolution_notes="Replaced the VPN token"
    )
    await send(adapter(policy, http), on(deliveries, "caller"))

    (message,) = inbox.messages
    assert message["To"] == "alice@corp.example"
    assert message["Subject"] == f"[{state.number}] Resolved: VPN drops every hour - please confirm"
    body = message.get_content()
    assert "Replaced the VPN token" in body
    assert "reply to this e-mail and tell us what is still wrong" in body
    assert "POST /incidents" not in body  # caller texts speak to a person (issue 15)


async def test_a_resent_mail_carries_the_same_message_id(
    smtp: tuple[Inbox, int], http: httpx.AsyncClient
) -> None:
    inbox, port = smtp
    policy = channels_policy(
        "http://127.0.0.1:9/hook", port, username="bot", password="mail-secret"
    )
    delivery = on(act(working(policy), Action.PEND, reason="awaiting_vendor", note="n"), "caller")
    activities = adapter(policy, http)
    await send(activities, delivery)
    await send(activities, delivery)  # what a retry after a lost "250 OK" does
    first, second = inbox.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first["X-Incidentflow-Key"] == delivery.key
    assert inbox.logins == ["bot", "bot"]


async def test_a_refused_mailbox_is_final(smtp: tuple[Inbox, int], http: httpx.AsyncClient) -> None:
    inbox, port = smtp
    inbox.unknown.add("alice@corp.example")
    policy = channels_policy("http://127.0.0.1:9/hook", port)
    delivery = on(act(working(policy), Action.PEND, reason="awaiting_vendor", note="n"), "caller")
    with pytest.raises(ApplicationError) as raised:
        await send(adapter(policy, http), delivery)
    assert raised.value.type == "NotificationRejected" and raised.value.non_retryable
    assert "550" in raised.value.message and inbox.messages == []


async def test_wrong_smtp_credentials_are_final(
    smtp: tuple[Inbox, int], http: httpx.AsyncClient
) -> None:
    _, port = smtp
    policy = channels_policy("http://127.0.0.1:9/hook", port, username="bot", password="wrong")
    delivery = on(act(working(policy), Action.PEND, reason="awaiting_vendor", note="n"), "caller")
    with pytest.raises(ApplicationError) as raised:
        await send(adapter(policy, http), delivery)
    assert raised.value.type == "NotificationRejected" and raised.value.non_retryable


async def test_an_smtp_server_that_is_down_is_retryable(http: httpx.AsyncClient) -> None:
    policy = channels_policy("http://127.0.0.1:9/hook", free_port())
    delivery = on(act(working(policy), Action.PEND, reason="awaiting_vendor", note="n"), "caller")
    with pytest.raises(ApplicationError) as raised:
        await send(adapter(policy, http), delivery)
    assert raised.value.type == "NotificationUnavailable" and not raised.value.non_retryable


# --- Temporal's retries, in a workflow on the time-skipping server -------------------------


@workflow.defn(sandboxed=False)
class DeliverOne:
    """What the incident workflow does with a delivery: retry for a while, then give up
    without failing (the lead records the failure in the timeline)."""

    @workflow.run
    async def run(self, delivery: Delivery) -> str:
        try:
            await workflow.execute_activity(
                "send_notification",
                delivery,
                start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=20)
                ),
            )
        except ActivityError as error:
            cause = error.cause
            kind = cause.type if isinstance(cause, ApplicationError) else type(cause).__name__
            return f"failed: {kind}"
        return "delivered"


async def deliver_in_workflow(
    env: WorkflowEnvironment, activities: NotificationActivities, delivery: Delivery
) -> str:
    queue = f"notify-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[DeliverOne],
        activities=[activities.send_notification],
    ):
        result: str = await env.client.execute_workflow(
            DeliverOne.run, delivery, id=f"deliver-{uuid.uuid4()}", task_queue=queue
        )
        return result


async def test_a_webhook_down_for_a_while_is_delivered_once(
    time_env: WorkflowEnvironment, stub: HttpStub, http: httpx.AsyncClient
) -> None:
    policy = channels_policy(f"{stub.url}/hooks/chat", free_port())
    delivery = on(act(working(policy), Action.ASSIGN, group="network-l1", assignee="n"), "assignee")
    stub.answer(3, 503, retry_after=1)

    assert await deliver_in_workflow(time_env, adapter(policy, http), delivery) == "delivered"
    assert [seen.answered for seen in stub.requests] == [503, 503, 503, 200]
    assert {seen.key for seen in stub.requests} == {delivery.key}
    assert len(stub.succeeded) == 1


async def test_a_channel_that_stays_down_gives_up_after_the_retry_window(
    time_env: WorkflowEnvironment, stub: HttpStub, http: httpx.AsyncClient
) -> None:
    policy = channels_policy(f"{stub.url}/hooks/chat", free_port())
    delivery = on(act(working(policy), Action.ASSIGN, group="network-l1", assignee="n"), "assignee")
    stub.answer_always(500)

    result = await deliver_in_workflow(time_env, adapter(policy, http), delivery)
    assert result == "failed: NotificationUnavailable"
    assert len(stub.requests) >= 4 and stub.succeeded == []
    assert {seen.key for seen in stub.requests} == {delivery.key}


async def test_a_refused_webhook_is_not_retried(
    time_env: WorkflowEnvironment, stub: HttpStub, http: httpx.AsyncClient
) -> None:
    policy = channels_policy(f"{stub.url}/hooks/chat", free_port())
    delivery = on(act(working(policy), Action.ASSIGN, group="network-l1", assignee="n"), "assignee")
    stub.answer(1, 400, body='{"error": "invalid_payload"}')

    result = await deliver_in_workflow(time_env, adapter(policy, http), delivery)
    assert result == "failed: NotificationRejected"
    assert [seen.answered for seen in stub.requests] == [400]
