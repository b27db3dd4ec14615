"""The service desk's actions over real HTTP against the dev server (issue 16): `return`,
`affected` and `resolve` with `duplicate_of`, and unmet preconditions as 409s that say what is
missing. Notifications go to real local receivers (a webhook and an SMTP server)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.activities.test_notification_adapters import Inbox
from tests.api.test_people import (  # noqa: F401  (fixtures)
    notifying_policy,
    notifying_stack,
    settled,
    smtp,
    webhook,
)
from tests.support.apistack import Stack, eventually
from tests.support.httpstub import HttpStub

MARKER = "OTTER-5512-INTERNAL"  # only ever in work notes
DESK_POLICY = "\n[escalation]\nrepeat_calls = 2\nmax_returns = 2\n"


def mails_to(inbox: Inbox, address: str) -> list[str]:
    def to(message: EmailMessage) -> str:
        return str(message.get("To", ""))

    return [message.as_string() for message in inbox.messages if address in to(message)]


async def timeline_kinds(stack: Stack, path: str, kind: str) -> list[dict[str, Any]]:
    entries = await stack.ok("GET", f"{path}/timeline")
    return [entry for entry in entries if entry["kind"] == kind]


async def test_affected_callers_read_the_incident_and_hear_only_its_public_news(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    task_queue: str,
    records_url: str,
    webhook: HttpStub,  # noqa: F811
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, smtp_port = smtp
    policy = notifying_policy(webhook.url, smtp_port) + DESK_POLICY
    async with notifying_stack(dev_env, tmp_path, task_queue, records_url, policy) as stack:
        created = await stack.ok(
            "POST", "/incidents", "alice", status=201, json={"short_description": "No internet"}
        )
        number = created["number"]
        path = f"/incidents/{number}"
        await stack.ok("POST", f"{path}/assign", json={"group": "service-desk"})
        view = await stack.ok("POST", f"{path}/affected", json={"caller": "bob"})
        assert (view["affected_callers"], view["affected_count"]) == (["bob"], 1)

        # bob reads it as a caller does: no work notes, no other caller's name.
        work_note = {"text": f"Router logs look odd {MARKER}", "visibility": "work_note"}
        await stack.ok("POST", f"{path}/comment", json=work_note)
        public = {"text": "We are replacing the office router", "visibility": "public"}
        await stack.ok("POST", f"{path}/comment", json=public)
        seen = await stack.ok("GET", path, "bob")
        assert seen["affected_callers"] == ["bob"] and seen["affected_count"] == 1
        assert seen["caller"] != "alice" and seen["allowed_actions"] == []
        timeline = await stack.call("GET", f"{path}/timeline", "bob")
        assert timeline.status_code == 200
        assert MARKER not in timeline.text and "alice" not in timeline.text
        assert "replacing the office router" in timeline.text
        mine = await eventually(
            lambda: stack.ok("GET", "/incidents?limit=200", "bob"),
            lambda page: number in [item["number"] for item in page["items"]],
        )
        assert number in [item["number"] for item in mine["items"]]
        assert "alice" not in str([i for i in mine["items"] if i["number"] == number])
        # alice's own view does not name bob either
        assert (await stack.ok("GET", path, "alice"))["affected_callers"] == []

        # The second affected caller reaches repeat_calls: one escalation, however many follow.
        await stack.ok("POST", f"{path}/affected", "dana", json={"caller": "nina"})  # any group
        await stack.ok("POST", f"{path}/affected", json={"caller": "morgan"})
        escalated = await timeline_kinds(stack, path, "escalated")
        assert len(escalated) == 1 and escalated[0]["details"]["affected_count"] == 2
        assert escalated[0]["details"]["notify"] == ["incident-manager"]

        for who, body, status, field in (
            ("sam", {"caller": "bob"}, 422, "caller"),
            ("sam", {"caller": "alice"}, 422, "caller"),
            ("sam", {"caller": "nobody-here"}, 422, "caller"),
            ("sam", {}, 422, "caller"),
        ):
            refused = await stack.call("POST", f"{path}/affected", who, json=body)
            assert refused.status_code == status, refused.text
            assert refused.json()["problems"][0]["field"] == field
        by_requester = await stack.call("POST", f"{path}/affected", "bob", json={"caller": "bob"})
        assert by_requester.status_code == 403

        await stack.ok("POST", f"{path}/start", json={"assignee": "morgan"})
        await settled(lambda: len(inbox.messages))
        to_bob = mails_to(inbox, "bob@example.com")
        assert any("You are on this incident" in mail for mail in to_bob)  # added
        assert any("replacing the office router" in mail for mail in to_bob)  # public comment
        assert any("in_progress" in mail for mail in to_bob)  # a state change
        assert not any(MARKER in mail for mail in to_bob)
        assert not any("alice" in mail.lower() for mail in to_bob)
        assert mails_to(inbox, "incident-managers@example.com")
        for text in [m.as_string() for m in inbox.messages] + [
            str(r.json) for r in webhook.requests
        ]:
            assert MARKER not in text


async def test_returned_twice_the_incident_manager_hears_of_it(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    task_queue: str,
    records_url: str,
    webhook: HttpStub,  # noqa: F811
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, smtp_port = smtp
    policy = notifying_policy(webhook.url, smtp_port) + DESK_POLICY
    async with notifying_stack(dev_env, tmp_path, task_queue, records_url, policy) as stack:
        created = await stack.ok(
            "POST", "/incidents", status=201, json={"short_description": "Printer jams"}
        )
        path = f"/incidents/{created['number']}"
        too_early = await stack.call("POST", f"{path}/return", json={"reason": "Not ours"})
        assert too_early.status_code == 409
        assert (
            too_early.json()["state"] == "new" and "assign" in too_early.json()["allowed_actions"]
        )

        await stack.ok("POST", f"{path}/assign", json={"group": "network-l1", "assignee": "sam"})
        assert (await stack.call("POST", f"{path}/return", json={})).status_code == 422
        for outsider in ("dana", "alice"):  # another group's agent; the caller
            refused = await stack.call("POST", f"{path}/return", outsider, json={"reason": "x"})
            assert refused.status_code in (403, 404), outsider
        first = await stack.ok("POST", f"{path}/return", json={"reason": "A printer, not the LAN"})
        assert (first["assignment_group"], first["returns"]) == ("service-desk", 1)
        again = await stack.call("POST", f"{path}/return", json={"reason": "Still not ours"})
        assert again.status_code == 409 and again.json()["missing"] == ["another_group"]

        await stack.ok("POST", f"{path}/assign", json={"group": "dba-l1"})
        second = await stack.ok("POST", f"{path}/return", json={"reason": "Not a database"})
        assert second["returns"] == 2 and second["status"] == "assigned"
        escalated = await timeline_kinds(stack, path, "escalated")
        assert len(escalated) == 1 and escalated[0]["details"]["returns"] == 2

        await settled(lambda: len(inbox.messages) + len(webhook.requests))
        to_manager = mails_to(inbox, "incident-managers@example.com")
        assert any("returned 2 times" in mail for mail in to_manager)
        assert any("Returned to service-desk" in mail for mail in mails_to(inbox, "service-desk"))


async def test_a_duplicate_needs_its_original_and_links_both_ways(stack: Stack) -> None:
    original = await stack.ok(
        "POST",
        "/incidents",
        status=201,
        json={"short_description": "Wi-Fi down", "caller": "alice"},
    )
    duplicate = await stack.ok(
        "POST", "/incidents", status=201, json={"short_description": "No Wi-Fi", "caller": "bob"}
    )
    path = f"/incidents/{duplicate['number']}"
    await stack.ok("POST", f"{path}/assign", json={"group": "service-desk", "assignee": "sam"})
    resolve = {"resolution_code": "duplicate", "resolution_notes": "Reported already"}
    for extra in ({}, {"duplicate_of": "INC0999999"}, {"duplicate_of": duplicate["number"]}):
        refused = await stack.call("POST", f"{path}/resolve", json=resolve | extra)
        assert refused.status_code == 422, refused.text
        assert refused.json()["problems"][0]["field"] == "duplicate_of"
    fixed = {
        "resolution_code": "fixed",
        "resolution_notes": "x",
        "duplicate_of": original["number"],
    }
    assert (await stack.call("POST", f"{path}/resolve", json=fixed)).status_code == 422

    resolved = await stack.ok(
        "POST", f"{path}/resolve", json=resolve | {"duplicate_of": original["number"]}
    )
    assert resolved["duplicate_of"] == original["number"]
    linked = await eventually(
        lambda: stack.ok("GET", f"/incidents/{original['number']}"),
        lambda view: bool(view["duplicates"]),
    )
    assert linked["duplicates"] == [duplicate["number"]] and linked["affected_callers"] == ["bob"]
    as_bob = await stack.ok("GET", f"/incidents/{original['number']}", "bob")
    assert as_bob["affected_count"] == 1
    listed = await eventually(
        lambda: stack.ok("GET", "/incidents?caller=bob&limit=200"),
        lambda page: original["number"] in [item["number"] for item in page["items"]],
    )
    numbers = [item["number"] for item in listed["items"]]
    assert original["number"] in numbers and duplicate["number"] in numbers


async def test_unmet_preconditions_are_409s_naming_what_is_missing(stack: Stack) -> None:
    created = await stack.ok(
        "POST",
        "/incidents",
        status=201,
        json={"short_description": "Mail down", "caller": "alice", "impact": 1, "urgency": 1},
    )
    path = f"/incidents/{created['number']}"
    assert created["major"]
    again = await stack.call("POST", f"{path}/declare-major", json={"reason": "again"})
    assert again.status_code == 409 and again.json()["state"] == "new"
    await stack.ok("POST", f"{path}/assign", json={"group": "service-desk", "assignee": "sam"})
    await stack.ok(
        "POST", f"{path}/resolve", json={"resolution_code": "fixed", "resolution_notes": "x"}
    )
    refused = await stack.call("POST", f"{path}/close", "alice", json={})
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["state"] == "resolved" and body["missing"] == ["review"]
    assert "review" in body["error"] and "reopen" in body["allowed_actions"]
    note_missing = await stack.call("POST", f"{path}/close", json={})
    assert note_missing.status_code in (409, 422)  # the review is missing before the note

    minor = await stack.ok(
        "POST", "/incidents", status=201, json={"short_description": "Slow", "caller": "alice"}
    )
    minor_path = f"/incidents/{minor['number']}"
    status_update = await stack.call("POST", f"{minor_path}/status-update", json={"text": "x"})
    assert status_update.status_code == 409 and status_update.json()["missing"] == ["major"]
    await stack.ok("POST", f"{minor_path}/assign", json={"group": "platform-l3"})
    for _ in range(2):
        await stack.call(
            "POST", f"{minor_path}/escalate", json={"kind": "functional", "reason": "up"}
        )
    top = await stack.call(
        "POST", f"{minor_path}/escalate", json={"kind": "functional", "reason": "up"}
    )
    assert top.status_code == 409 and top.json()["missing"] == ["higher_support_level"]
