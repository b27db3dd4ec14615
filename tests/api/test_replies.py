"""Reply templates over real HTTP (contract 14): listing them, a comment written from one (the
rendered text in the timeline and in the caller's e-mail), and the refusals, each naming what
is wrong."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.activities.test_notification_adapters import Inbox
from tests.api.test_people import notifying_policy, notifying_stack, smtp, webhook  # noqa: F401
from tests.support.apistack import Stack
from tests.support.httpstub import HttpStub

QUESTION = "Which laptop model are you using?"


async def assigned(stack: Stack, caller: str = "alice") -> str:
    body = {"short_description": "VPN drops every hour", "caller": caller}
    created = await stack.ok("POST", "/incidents", status=201, json=body)
    path = f"/incidents/{created['number']}"
    await stack.ok("POST", f"{path}/assign", json={"group": "service-desk", "assignee": "sam"})
    return path


async def test_agents_list_the_templates_and_requesters_may_not(stack: Stack) -> None:
    listed = (await stack.ok("GET", "/reply-templates"))["items"]
    by_name = {item["name"]: item for item in listed}
    assert {"awaiting-information", "resolved-please-confirm", "manager-requested"} <= set(by_name)
    asking = by_name["awaiting-information"]
    assert asking["audience"] == "caller" and asking["title"]
    assert "question" in asking["vars"] and "question" in asking["placeholders"]
    assert "{caller_name}" in asking["body"]
    one = await stack.ok("GET", "/reply-templates/awaiting-information", "morgan")
    assert one == asking
    missing = await stack.call("GET", "/reply-templates/no-such-reply")
    assert missing.status_code == 404 and "no-such-reply" in missing.json()["error"]
    assert (await stack.call("GET", "/reply-templates", "alice")).status_code == 403


async def test_a_templated_comment_is_rendered_text_in_the_timeline(stack: Stack) -> None:
    path = await assigned(stack)
    body = {"template": "awaiting-information", "vars": {"question": QUESTION}}
    await stack.ok("POST", f"{path}/comment", json=body)
    timeline = await stack.ok("GET", f"{path}/timeline", "alice")  # the caller sees it: public
    (comment,) = [entry for entry in timeline if entry["kind"] == "comment"]
    details = comment["details"]
    assert details["template"] == "awaiting-information"
    assert details["visibility"] == "public"
    assert details["text"].startswith("Hello Alice Martin,")
    assert QUESTION in details["text"] and path.rsplit("/", 1)[1] in details["text"]
    assert "{" not in details["text"] and details["text"].rstrip().endswith("Sam Lee")


async def test_an_agents_template_is_a_work_note_unless_visibility_says(stack: Stack) -> None:
    path = await assigned(stack)
    handover = {"template": "handover", "vars": {"done": "Reset the VPN profile", "next_step": "X"}}
    await stack.ok("POST", f"{path}/comment", json=handover)
    await stack.ok(
        "POST",
        f"{path}/comment",
        json={"template": "workaround-given", "vars": {"workaround": "Use Wi-Fi"}}
        | {"visibility": "work_note"},
    )
    timeline = await stack.ok("GET", f"{path}/timeline")
    notes = [entry["details"] for entry in timeline if entry["kind"] == "comment"]
    assert [(n["template"], n["visibility"]) for n in notes] == [
        ("handover", "work_note"),
        ("workaround-given", "work_note"),
    ]
    assert "Reset the VPN profile" in notes[0]["text"]
    seen_by_caller = await stack.ok("GET", f"{path}/timeline", "alice")
    assert not [entry for entry in seen_by_caller if entry["kind"] == "comment"]


async def test_bad_template_comments_are_422s_naming_the_problem(stack: Stack) -> None:
    path = await assigned(stack)
    comment = f"{path}/comment"
    cases = [
        ({"template": "no-such-reply"}, "template", "no-such-reply"),
        ({"template": "awaiting-information", "vars": {}}, "vars", "question"),
        (
            {"template": "awaiting-information", "vars": {"question": "?", "qestion": "typo"}},
            "vars",
            "qestion",
        ),
        (
            {"template": "awaiting-information", "text": "hi", "vars": {"question": "?"}},
            "template",
            "not both",
        ),
        ({"vars": {"question": "?"}}, "vars", "template"),
        ({"visibility": "public"}, "text", "template"),
        (
            {"template": "awaiting-information", "vars": {"question.x": "?"}},
            "vars.question.x.[key]",
            "pattern",
        ),
        ({"template": "../etc/passwd"}, "template", ""),
        (
            {"template": "awaiting-information", "vars": {"question": "x" * 3990}},
            "vars",
            "4000",
        ),
    ]
    for body, field, named in cases:
        refused = await stack.call("POST", comment, json=body)
        assert refused.status_code == 422, (body, refused.text)
        answer = refused.json()
        assert answer["problems"][0]["field"] == field, (body, answer)
        assert named in answer["error"], (body, answer)
    timeline = await stack.ok("GET", f"{path}/timeline")
    assert not [entry for entry in timeline if entry["kind"] == "comment"]


async def test_requesters_write_their_own_words(stack: Stack) -> None:
    path = await assigned(stack)
    body = {"template": "resolved-please-confirm"}
    refused = await stack.call("POST", f"{path}/comment", "alice", json=body)
    assert refused.status_code == 403 and "template" in refused.json()["error"]
    await stack.ok("POST", f"{path}/comment", "alice", json={"text": "Still broken"})


async def test_the_caller_receives_the_rendered_reply_by_mail(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    task_queue: str,
    records_url: str,
    webhook: HttpStub,  # noqa: F811
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, smtp_port = smtp
    policy = notifying_policy(webhook.url, smtp_port)
    async with notifying_stack(dev_env, tmp_path, task_queue, records_url, policy) as stack:
        path = await assigned(stack)
        await stack.ok("POST", f"{path}/start", json={})
        fixed = {"resolution_code": "fixed", "resolution_notes": "Replaced the VPN client"}
        await stack.ok("POST", f"{path}/resolve", json=fixed)
        await stack.ok("POST", f"{path}/comment", json={"template": "resolved-please-confirm"})

        def replies_to_alice() -> list[str]:
            texts = [
                (str(message["To"]), message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
                for message in inbox.messages
            ]
            return [text for to, text in texts if "alice@" in to and "Hello Alice" in text]

        for _ in range(150):
            if replies_to_alice():
                break
            await asyncio.sleep(0.2)
        (mail,) = replies_to_alice()
        assert 'We believe "VPN drops every hour"' in mail and "Replaced the VPN client" in mail
        assert "{" not in mail
