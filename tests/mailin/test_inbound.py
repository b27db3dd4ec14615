"""Inbound mail end to end (issue 15): smtplib into the real listener, the real API and worker
on the dev server. Each test reads what a user would see: the incident and its timeline."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from mailin.desk import MailDesk
from recordstore import mail
from tests.mailin.support import listener, mail_settings, message, outcome, send
from tests.support.apistack import Stack

QUOTED = "\n\nOn Mon, 30 Nov 2026 at 09:00, Service Desk <servicedesk@example.com> wrote:\n> {q}\n"


@pytest_asyncio.fixture
async def desk(stack: Stack, tmp_path: Path) -> AsyncIterator[tuple[Stack, int]]:
    settings = mail_settings(stack, tmp_path)
    async with listener(settings):
        yield stack, settings.smtp_port


async def open_by_mail(stack: Stack, port: int, sender: str = "alice@example.com") -> str:
    first = message(sender, "Printer on floor 3 jams", "It jams on every page since Monday.")
    await send(port, first)
    status, number, _ = await outcome(stack, first["Message-ID"])
    assert status == "applied" and number
    return str(number)


async def comments(stack: Stack, number: str) -> list[dict[str, Any]]:
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    return [entry for entry in timeline if entry["kind"] == "comment"]


async def test_a_new_mail_opens_an_incident_for_its_sender(desk: tuple[Stack, int]) -> None:
    stack, port = desk
    found = message(
        "Alice <alice@example.com>",
        "VPN drops every hour",
        "plain part",
        html="<p>The <b>VPN</b> drops every hour.</p><ul><li>since Monday</li></ul>",
    )
    await send(port, found)
    status, number, note = await outcome(stack, found["Message-ID"])
    assert (status, note) == ("applied", "opened")
    incident = await stack.ok("GET", f"/incidents/{number}", who="alice")
    assert incident["caller"] == "alice" and incident["channel"] == "email"
    assert incident["short_description"] == "VPN drops every hour"
    assert incident["description"] == "plain part"  # the plain part wins over the HTML one
    html_only = message("alice@example.com", "Fwd: Outlook", "x")
    html_only.set_content("<p>Outlook <i>crashes</i> at start</p>", subtype="html")
    await send(port, html_only)
    _, other, _ = await outcome(stack, html_only["Message-ID"])
    converted = await stack.ok("GET", f"/incidents/{other}", who="alice")
    assert converted["description"] == "Outlook _crashes_ at start"
    assert converted["short_description"] == "Outlook"


async def test_replies_by_token_and_by_in_reply_to_become_public_comments(
    desk: tuple[Stack, int],
) -> None:
    stack, port = desk
    number = await open_by_mail(stack, port)
    by_token = message(
        "alice@example.com",
        f"Re: [{number}] Printer on floor 3 jams",
        "It also jams on the second tray.\n\nBest regards,\nAlice" + QUOTED.format(q="Which tray?"),
    )
    await send(port, by_token)
    assert (await outcome(stack, by_token["Message-ID"]))[:2] == ("applied", number)

    ours = "<0123456789abcdef@incidentflow.example.com>"  # what the notification adapter keeps
    await mail.remember_sent(stack.store.database, ours, number)
    threaded = message(
        "alice@example.com",
        "Re: your printer",
        "Paper is A4, 80 g.",
        headers={"In-Reply-To": ours, "References": f"<root@x> {ours}"},
    )
    await send(port, threaded)
    assert (await outcome(stack, threaded["Message-ID"]))[:2] == ("applied", number)

    found = await comments(stack, number)
    assert [(c["actor"], c["details"]["visibility"], c["details"]["text"]) for c in found] == [
        ("alice", "public", "It also jams on the second tray."),
        ("alice", "public", "Paper is A4, 80 g."),
    ]


async def test_a_token_from_a_stranger_is_refused(desk: tuple[Stack, int]) -> None:
    stack, port = desk
    number = await open_by_mail(stack, port)
    stranger = message("bob@example.com", f"[{number}] me", "I am not the caller")
    await send(port, stranger)
    status, _, note = await outcome(stack, stranger["Message-ID"])
    assert status == "rejected" and "neither the caller" in note
    agent = message("sam@example.com", f"Re: [{number}] x", "Try tray 2, please.")
    await send(port, agent)
    assert (await outcome(stack, agent["Message-ID"]))[0] == "applied"
    assert [c["actor"] for c in await comments(stack, number)] == ["sam"]


async def test_a_caller_reply_resumes_awaiting_caller(desk: tuple[Stack, int]) -> None:
    stack, port = desk
    number = await open_by_mail(stack, port)
    path = f"/incidents/{number}"
    await stack.ok("POST", f"{path}/assign", json={"group": "service-desk", "assignee": "sam"})
    await stack.ok("POST", f"{path}/start", json={})
    pend = {"reason": "awaiting_caller", "note": "Which printer model?"}
    assert (await stack.ok("POST", f"{path}/pend", json=pend))["status"] == "pending"
    reply = message("alice@example.com", f"RE: [{number}] On hold", "An HP LaserJet 4250.")
    await send(port, reply)
    await outcome(stack, reply["Message-ID"])
    incident = await stack.ok("GET", path)
    assert incident["status"] == "in_progress" and incident["pending_reason"] is None
    (comment,) = await comments(stack, number)
    assert comment["details"]["resumed"] is True


async def resolved_incident(stack: Stack, port: int) -> str:
    number = await open_by_mail(stack, port)
    path = f"/incidents/{number}"
    await stack.ok("POST", f"{path}/assign", json={"group": "service-desk", "assignee": "sam"})
    await stack.ok("POST", f"{path}/start", json={})
    body = {"resolution_code": "fixed", "resolution_notes": "Cleaned the rollers"}
    await stack.ok("POST", f"{path}/resolve", json=body)
    return number


async def test_a_reply_to_a_resolved_incident_reopens_it(desk: tuple[Stack, int]) -> None:
    stack, port = desk
    number = await resolved_incident(stack, port)
    reply = message("alice@example.com", f"Re: [{number}] Resolved", "Still jams, sorry.")
    await send(port, reply)
    assert (await outcome(stack, reply["Message-ID"]))[2] == "reopened"
    incident = await stack.ok("GET", f"/incidents/{number}")
    assert incident["status"] == "in_progress" and incident["reopen_count"] == 1
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    (reopen,) = [e for e in timeline if e["kind"] == "reopen"]
    assert reopen["actor"] == "alice" and reopen["details"]["reason"] == "Still jams, sorry."


async def test_without_reopen_on_reply_a_reply_to_a_resolved_incident_is_a_comment(
    stack: Stack, tmp_path: Path
) -> None:
    settings = mail_settings(stack, tmp_path, "[email]\nreopen_on_reply = false\n")
    async with listener(settings):
        port = settings.smtp_port
        number = await resolved_incident(stack, port)
        reply = message("alice@example.com", f"Re: [{number}] Resolved", "Still jams, sorry.")
        await send(port, reply)
        assert (await outcome(stack, reply["Message-ID"]))[2] == "public comment"
    incident = await stack.ok("GET", f"/incidents/{number}")
    assert incident["status"] == "resolved"
    (comment,) = await comments(stack, number)
    assert comment["actor"] == "alice" and comment["details"]["visibility"] == "public"


async def test_unknown_senders_rejected_by_policy(stack: Stack, tmp_path: Path) -> None:
    settings = mail_settings(stack, tmp_path, '[email]\nunknown_senders = "reject"\n')
    async with listener(settings):
        stranger = message("someone@elsewhere.org", "Help", "Who reads this?")
        await send(settings.smtp_port, stranger)
        status, number, note = await outcome(stack, stranger["Message-ID"])
    assert (status, number) == ("rejected", None) and "unknown sender" in note


@pytest.mark.parametrize(
    ("sender", "headers", "mail_from"),
    [
        ("alice@example.com", {"Auto-Submitted": "auto-replied"}, None),
        ("alice@example.com", {"Precedence": "bulk"}, None),
        ("alice@example.com", {"X-Autoreply": "yes"}, None),
        ("MAILER-DAEMON@mx.example.com", {}, None),
        ("alice@example.com", {}, ""),  # a null return path: a bounce
    ],
    ids=["auto-submitted", "precedence-bulk", "x-autoreply", "mailer-daemon", "null-sender"],
)
async def test_automatic_mail_and_bounces_are_ignored(
    desk: tuple[Stack, int], sender: str, headers: dict[str, str], mail_from: str | None
) -> None:
    stack, port = desk
    number = await open_by_mail(stack, port)
    robot = message(sender, f"Re: [{number}] Out of office", "I am away.", headers=headers)
    await send(port, robot, mail_from=mail_from)
    status, _, note = await outcome(stack, robot["Message-ID"])
    assert status == "ignored", note
    assert await comments(stack, number) == []


async def test_the_same_mail_twice_is_applied_once(desk: tuple[Stack, int]) -> None:
    stack, port = desk
    number = await open_by_mail(stack, port)
    reply = message("alice@example.com", f"Re: [{number}] x", "Once only, please.")
    await send(port, reply)
    await outcome(stack, reply["Message-ID"])
    await send(port, reply)  # an MTA that lost our 250 sends it again
    await asyncio.sleep(1)
    assert len(await comments(stack, number)) == 1


async def test_an_oversized_mail_is_refused_with_552_and_the_listener_carries_on(
    stack: Stack, tmp_path: Path
) -> None:
    settings = mail_settings(stack, tmp_path, "[email]\nmax_message_bytes = 20000\n")
    async with listener(settings):
        port = settings.smtp_port
        big = message("alice@example.com", "Huge", "x" * 50_000)
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            await send(port, big)
        assert refused.value.smtp_code == 552
        assert await mail.outcome_of(stack.store.database, big["Message-ID"]) == (
            "unknown",
            None,
            None,
        )
        small = message("alice@example.com", "Small", "fits")
        await send(port, small)
        assert (await outcome(stack, small["Message-ID"]))[0] == "applied"


async def test_a_mail_taken_before_a_crash_is_applied_once_after_the_restart(
    stack: Stack, tmp_path: Path
) -> None:
    settings = mail_settings(stack, tmp_path)
    reply = message("alice@example.com", "Keyboard missing keys", "The E key fell off.")
    # The listener answers 250 once the record store holds the mail, then stops before it
    # applies anything (as a kill right after the 250 would).
    async with listener(settings, apply=False) as taken:
        assert isinstance(taken, MailDesk)
        await send(settings.smtp_port, reply)
    assert (await mail.outcome_of(stack.store.database, reply["Message-ID"]))[0] == "pending"
    async with listener(settings):
        status, number, _ = await outcome(stack, reply["Message-ID"])
        await send(settings.smtp_port, reply)  # and the MTA's retry changes nothing
        await asyncio.sleep(1)
    assert status == "applied"
    mine = await stack.ok("GET", "/incidents?caller=alice&limit=200", who="alice")
    assert [i["number"] for i in mine["items"]].count(number) == 1
    same = [i for i in mine["items"] if i["short_description"] == "Keyboard missing keys"]
    assert len(same) == 1


async def test_a_sender_over_the_rate_limit_is_dropped_with_a_log_line(
    stack: Stack, tmp_path: Path
) -> None:
    settings = mail_settings(stack, tmp_path, "[email]\nsender_rate_per_hour = 2\n")
    async with listener(settings):
        sent, sender = [], f"storm-{uuid.uuid4().hex[:8]}@example.com"
        for n in range(3):
            found = message(sender, f"Storm {n}", "again")
            await send(settings.smtp_port, found)
            sent.append((await outcome(stack, found["Message-ID"]))[0])
    assert sent == ["applied", "applied", "rejected"]
