"""Outbound mail threads and inbound replies find their incident (issue 15): the real
notification adapter sends to an aiosmtpd sink, the client's reply goes back through smtplib
into the listener by In-Reply-To alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email.message import EmailMessage
from functools import partial
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.notifications import SHIPPED_TEMPLATES, NotificationActivities, thread_id
from domain.notifications import Delivery
from domain.policy import NotificationChannel, NotificationPolicy, Policy
from recordstore import RecordStore, mail
from tests.activities.test_notification_adapters import SENDER, Inbox, channels_policy
from tests.mailin.support import listener, mail_settings, message, outcome, send
from tests.support.apistack import Stack, free_port
from tests.support.factories import act, new_incident, start
from worker import build_worker

DESK_ADDRESS = "servicedesk@example.com"


@pytest.fixture
def sink() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def pend_delivery(number: str) -> Delivery:
    return Delivery(
        key=f"{number}/3/mail/alice@example.com",
        number=number,
        event="pend",
        role="caller",
        recipient="alice",
        channel="mail",
        address="alice@example.com",
        context={"number": number, "short_description": "Laptop fan noise", "details": {}},
    )


async def test_a_reply_to_our_mail_threads_back_by_in_reply_to(
    stack: Stack, tmp_path: Path, sink: tuple[Inbox, int]
) -> None:
    inbox, port = sink
    created = await stack.ok(
        "POST", "/incidents", who="alice", status=201, json={"short_description": "Fan noise"}
    )
    number = created["number"]
    policy = channels_policy("http://127.0.0.1:9/hook", port)
    async with httpx.AsyncClient() as http:
        activities = NotificationActivities(
            policy,
            http,
            SHIPPED_TEMPLATES,
            reply_to=DESK_ADDRESS,
            sent_mail=partial(mail.remember_sent, stack.store.database),
        )
        await ActivityEnvironment().run(activities.send_notification, pend_delivery(number))

    (sent,) = inbox.messages
    assert sent["Subject"].startswith(f"[{number}] ")
    assert sent["Reply-To"] == DESK_ADDRESS
    assert sent["In-Reply-To"] == sent["References"] == thread_id(number, SENDER)
    assert sent["Message-ID"] and sent["Message-ID"] != sent["In-Reply-To"]
    assert "POST /incidents" not in sent.get_content()

    settings = mail_settings(stack, tmp_path, '[notifications]\nemail_domain = "example.com"\n')
    async with listener(settings):
        reply = message(
            "alice@example.com",
            "Re: On hold",  # a client that dropped the token: In-Reply-To still finds it
            "It is the Dell one.\n\n> Which laptop?",
            headers={
                "In-Reply-To": sent["Message-ID"],
                "References": f"{sent['References']} {sent['Message-ID']}",
            },
        )
        await send(settings.smtp_port, reply)
        assert (await outcome(stack, reply["Message-ID"]))[:2] == ("applied", number)

        echo = EmailMessage()  # our own message, delivered back to us by a forwarding rule
        for header in ("From", "To", "Subject", "Message-ID"):
            echo[header] = sent[header]
        echo.set_content("loop")
        await send(settings.smtp_port, echo)
        status, _, note = await outcome(stack, sent["Message-ID"])
        assert (status, note) == ("ignored", "a message incidentflow sent itself")

    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    comments = [(e["actor"], e["details"]["text"]) for e in timeline if e["kind"] == "comment"]
    assert comments == [("alice", "It is the Dell one.")]


async def test_a_callers_public_comment_reaches_the_assignee_by_mail(
    time_env: WorkflowEnvironment, task_queue: str, store: RecordStore, sink: tuple[Inbox, int]
) -> None:
    inbox, port = sink
    policy = Policy(
        notifications=NotificationPolicy(
            email_domain="example.com",
            routes={"assignee": ("mail",), "group": ("mail",)},
            channels={
                "mail": NotificationChannel(
                    type="email", host="127.0.0.1", port=port, sender=SENDER
                )
            },
        )
    )
    now = await time_env.get_current_time()
    async with build_worker(time_env.client, task_queue, store, policy):
        handle = await start(time_env.client, task_queue, new_incident(policy=policy, now=now))
        await act(handle, "assign", group="service-desk", assignee="sam")
        await act(handle, "comment", text="Any news?", visibility="public", actor="alice")
        number = handle.id.removeprefix("incident-")
        wanted = ("sam@example.com", f"[{number}] New comment from alice: Mail is down")
        # Not a count of messages: the assignment's two mails may be all there is so far.
        for _ in range(300):
            if wanted in [(m["To"], m["Subject"]) for m in inbox.messages]:
                break
            await asyncio.sleep(0.1)
    subjects = [(m["To"], m["Subject"]) for m in inbox.messages]
    assert wanted in subjects
