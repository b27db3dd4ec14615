"""Reading inbound mail, without servers: loops, replies, HTML, threading headers."""

from __future__ import annotations

import pytest

from domain.notifications import address_of
from domain.policy import NotificationPolicy
from mailin.parse import parse, reply_text
from tests.mailin.support import message


def test_the_subject_token_and_the_answered_ids_are_read() -> None:
    found = message(
        "Alice <Alice@Example.com>",
        "AW: Re: [INC0001234] Printer",
        "ok",
        headers={"In-Reply-To": "<b@x>", "References": "<a@x> <b@x> <c@x>"},
    )
    inbound = parse(found.as_bytes())
    assert inbound.sender == "alice@example.com" and inbound.token == "INC0001234"
    assert inbound.answers[:2] == ["<b@x>", "<c@x>"]
    assert inbound.short_description == "[INC0001234] Printer"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Auto-Submitted": "no"}, None),
        ({"Precedence": "list"}, "Precedence: list"),
        ({"Precedence": "first-class"}, None),
        ({"X-Autorespond": "1"}, "X-Autorespond header"),
        ({"Return-Path": "<>"}, "a null return path (bounce)"),
        ({"Return-Path": "<alice@example.com>"}, None),
    ],
)
def test_loops_are_recognised(headers: dict[str, str], reason: str | None) -> None:
    inbound = parse(message("alice@example.com", "x", "y", headers=headers).as_bytes())
    assert inbound.loop_reason == reason


def test_quoted_history_and_signature_are_stripped() -> None:
    text = (
        "Works now, thanks!\n\nBest regards,\nAlice\n-- \nAlice Example | Sales\n\n"
        "On Mon, 30 Nov 2026 at 09:00, Service Desk <desk@example.com> wrote:\n> Resolved.\n"
    )
    assert reply_text(text) == "Works now, thanks!"
    assert reply_text("Yes.\n\n> Is it fixed?\n> \n") == "Yes."


def test_a_caller_known_only_by_address_is_mailed_at_that_address() -> None:
    policy = NotificationPolicy(email_domain="corp.example")
    assert address_of(policy, "someone@elsewhere.org") == "someone@elsewhere.org"
    assert address_of(policy, "alice") == "alice@corp.example"
