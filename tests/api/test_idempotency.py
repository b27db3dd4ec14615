"""Idempotency-Key on every POST and PATCH (issue 12 point 5, contract section 6): the same
request by the same principal gets the first answer; anything else with the key is a 422."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.support.apistack import Stack


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"key-{uuid.uuid4()}"}


async def open_assigned(stack: Stack, caller: str) -> str:
    number: str = (
        await stack.ok(
            "POST", "/incidents", status=201, json={"short_description": "VPN", "caller": caller}
        )
    )["number"]
    await stack.ok("POST", f"/incidents/{number}/assign", json={"group": "desk", "assignee": "sam"})
    return number


def refused_key(response: Any) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == "Idempotency-Key"
    assert "Idempotency-Key" in response.json()["error"]


async def test_a_key_used_for_a_comment_never_turns_start_into_a_no_op(
    stack: Stack, caller: str
) -> None:
    number = await open_assigned(stack, caller)
    used = key()
    comment = {"text": "looking", "visibility": "public"}
    first = await stack.ok("POST", f"/incidents/{number}/comment", json=comment, headers=used)
    assert first["status"] == "assigned"

    start = await stack.call("POST", f"/incidents/{number}/start", json={}, headers=used)
    refused_key(start)
    assert "POST /incidents/" in start.json()["error"]  # names what the key was used for
    assert (await stack.ok("GET", f"/incidents/{number}"))["status"] == "assigned"

    # The same comment again: the first answer, and one comment in the timeline.
    again = await stack.call("POST", f"/incidents/{number}/comment", json=comment, headers=used)
    assert again.status_code == 200 and again.json() == first
    assert again.headers["Idempotent-Replayed"] == "true"
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    assert sum(entry["kind"] == "comment" for entry in timeline) == 1

    started = await stack.ok("POST", f"/incidents/{number}/start", json={}, headers=key())
    assert started["status"] == "in_progress"


async def test_another_principal_or_another_body_with_the_key_is_a_422(
    stack: Stack, caller: str
) -> None:
    number = await open_assigned(stack, caller)
    used = key()
    path = f"/incidents/{number}/comment"
    await stack.ok("POST", path, "sam", json={"text": "on it"}, headers=used)
    # sam's key, then dana's resolve with it: refused, and nothing resolved.
    resolve = {"resolution_code": "fixed", "resolution_notes": "rebooted"}
    other = await stack.call(
        "POST", f"/incidents/{number}/resolve", "morgan", json=resolve, headers=used
    )
    refused_key(other)
    assert "another principal" in other.json()["error"]
    same_path = await stack.call("POST", path, "morgan", json={"text": "on it"}, headers=used)
    refused_key(same_path)
    changed = await stack.call("POST", path, "sam", json={"text": "on it!"}, headers=used)
    refused_key(changed)
    assert "different request body" in changed.json()["error"]
    assert (await stack.ok("GET", f"/incidents/{number}"))["status"] == "assigned"
    # The same JSON spelled differently is the same request.
    spaced = await stack.call(
        "POST",
        path,
        "sam",
        content=b'{ "text" :  "on it" }',
        headers=used | {"Content-Type": "application/json"},
    )
    assert spaced.status_code == 200 and spaced.headers["Idempotent-Replayed"] == "true"


async def test_patch_and_other_routes_replay_their_first_answer(stack: Stack, caller: str) -> None:
    number = await open_assigned(stack, caller)
    used = key()
    change = {"impact": 1, "urgency": 1, "reason": "whole floor"}
    first = await stack.call("PATCH", f"/incidents/{number}", json=change, headers=used)
    assert first.status_code == 200 and first.json()["priority"] == "P1"
    again = await stack.call("PATCH", f"/incidents/{number}", json=change, headers=used)
    assert (again.status_code, again.json()) == (200, first.json())
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    assert sum(entry["kind"] == "update" for entry in timeline) == 1

    # A refusal is an answer too: the same request gets the same 409, not a second try.
    refused = await stack.call(
        "POST", f"/incidents/{number}/reopen", json={"reason": "x"}, headers=key()
    )
    assert refused.status_code == 409

    # Not only incidents: a known error is made once per key.
    known = {"title": f"VPN drops {uuid.uuid4().hex[:6]}", "symptoms": "disconnects hourly"}
    used = key()
    made = await stack.call("POST", "/known-errors", json=known, headers=used)
    twice = await stack.call("POST", "/known-errors", json=known, headers=used)
    assert made.status_code == twice.status_code == 201
    assert made.json()["id"] == twice.json()["id"]


async def test_concurrent_retries_of_one_keyed_transition_act_once(
    stack: Stack, caller: str
) -> None:
    number = await open_assigned(stack, caller)
    used = key()
    comment = {"text": "same note, sent ten times"}
    responses = await asyncio.gather(
        *[
            stack.call("POST", f"/incidents/{number}/comment", json=comment, headers=used)
            for _ in range(10)
        ]
    )
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 9
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    assert sum(entry["kind"] == "comment" for entry in timeline) == 1
