"""What a requester sees (issue 12 point 8, contract section 7): only public known-error fields,
no review internals, her own comments public and in her view, and another caller's incident is
the same 404 whatever its state."""

from __future__ import annotations

import uuid

from tests.support.apistack import Stack, eventually


async def test_a_requesters_comment_is_public_and_answers_a_wait_on_her(stack: Stack) -> None:
    body = {"short_description": "Cannot print"}
    number = (await stack.ok("POST", "/incidents", "alice", status=201, json=body))["number"]
    path = f"/incidents/{number}"
    await stack.ok("POST", f"{path}/assign", json={"group": "desk", "assignee": "sam"})
    await stack.ok("POST", f"{path}/start", json={})
    pend = {"reason": "awaiting_caller", "note": "Which printer?"}
    assert (await stack.ok("POST", f"{path}/pend", json=pend))["status"] == "pending"

    answered = await stack.ok(
        "POST", f"{path}/comment", "alice", json={"text": "The 3rd floor one"}
    )
    assert answered["status"] == "in_progress" and answered["pending_reason"] is None
    timeline = await stack.ok("GET", f"{path}/timeline", "alice")
    mine = [entry for entry in timeline if entry["kind"] == "comment"]
    assert [entry["details"]["text"] for entry in mine] == ["The 3rd floor one"]
    assert mine[0]["details"]["visibility"] == "public" and mine[0]["details"]["resumed"]
    # An agent's comment still defaults to a work note, which she never sees.
    await stack.ok("POST", f"{path}/comment", json={"text": "toner low, internal"})
    assert "toner low" not in str(await stack.ok("GET", f"{path}/timeline", "alice"))


async def test_requesters_see_only_public_known_error_and_review_fields(stack: Stack) -> None:
    marker = uuid.uuid4().hex[:8]
    known = {
        "title": f"Outlook profile corrupt {marker}",
        "symptoms": f"Outlook cannot connect {marker}",
        "workaround": "Recreate the mail profile",
        "root_cause": f"INTERNAL-ROOT-{marker}",
    }
    await stack.ok("POST", "/known-errors", status=201, json=known)
    body = {"short_description": f"Outlook cannot connect {marker}", "impact": 1, "urgency": 1}
    number = (await stack.ok("POST", "/incidents", "alice", status=201, json=body))["number"]
    path = f"/incidents/{number}"
    await eventually(lambda: stack.ok("GET", path), lambda i: bool(i["suggestions"]))
    review = {
        "summary": "mail down",
        "root_cause": f"REVIEW-ROOT-{marker}",
        "lessons": f"REVIEW-LESSONS-{marker}",
        "actions": [{"action": "monitor profiles", "owner": "sam"}],
    }
    # a requester's P1 wording is capped (contract 7): the desk declares the major itself
    await stack.ok("POST", f"{path}/declare-major", "morgan", json={"reason": "mail down for all"})
    await stack.ok("POST", f"{path}/review", "morgan", json=review)

    seen_by_agent = str(await stack.ok("GET", path)) + str(
        await stack.ok("GET", f"{path}/timeline")
    )
    assert f"REVIEW-ROOT-{marker}" in seen_by_agent
    view = await stack.ok("GET", path, "alice")
    assert view["suggestions"] and view["review"] is None
    assert set(view["suggestions"][0]) <= {"id", "title", "score", "workaround"}
    seen_by_her = str(view) + str(await stack.ok("GET", f"{path}/timeline", "alice"))
    assert "Recreate the mail profile" in seen_by_her  # the workaround is for her
    for internal in ("INTERNAL-ROOT", "REVIEW-ROOT", "REVIEW-LESSONS", "root_cause"):
        assert internal not in seen_by_her, internal


async def test_another_callers_incident_is_404_when_closed_too(stack: Stack) -> None:
    body = {"short_description": "Badge reader"}
    number = (await stack.ok("POST", "/incidents", "alice", status=201, json=body))["number"]
    path = f"/incidents/{number}"
    await stack.ok("POST", f"{path}/cancel", "alice", json={"reason": "works again"})
    await eventually(lambda: stack.ok("GET", path), lambda i: i["status"] == "canceled")
    answers = [
        await stack.call("GET", path, "bob"),
        await stack.call("GET", f"{path}/timeline", "bob"),
        await stack.call("POST", f"{path}/comment", "bob", json={"text": "hi"}),
        await stack.call("POST", f"{path}/reopen", "bob", json={"reason": "x"}),
        await stack.call("POST", f"{path}/survey", "bob", json={"score": 3}),
    ]
    assert [r.status_code for r in answers] == [404] * 5
    assert len({r.json()["error"] for r in answers}) == 1
