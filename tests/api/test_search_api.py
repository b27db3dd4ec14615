"""Search, filters, similar incidents and queues over HTTP (contract 15): a real API and worker
on the Temporal dev server. The record store is the session's, shared with other tests, so
every test searches for words, services and CIs of its own."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.apistack import Stack, eventually


def word() -> str:
    return "zq" + uuid.uuid4().hex[:10]


async def create(stack: Stack, who: str = "sam", **fields: Any) -> str:
    body = {"short_description": "Printer jams"} | fields
    created = await stack.ok("POST", "/incidents", who, status=201, json=body)
    number: str = created["number"]
    return number


async def listed(stack: Stack, query: str, who: str = "sam") -> list[str]:
    page = await stack.ok("GET", f"/incidents?{query}&limit=200", who)
    return [item["number"] for item in page["items"]]


async def eventually_listed(
    stack: Stack, query: str, expected: list[str], who: str = "sam"
) -> list[str]:
    async def probe() -> list[str]:
        return await listed(stack, query, who)

    return await eventually(probe, lambda found: found == expected, seconds=20)


async def test_q_searches_public_text_only_and_requesters_see_only_theirs(stack: Stack) -> None:
    said, noted = word(), word()
    alices = await create(stack, caller="alice", description="The tray is stuck")
    bobs = await create(stack, caller="bob", short_description=f"Scanner {said} fails")
    comment = f"/incidents/{alices}/comment"
    await stack.ok("POST", comment, json={"text": f"Modem {said} blinks", "visibility": "public"})
    await stack.ok("POST", comment, json={"text": f"Secret {noted}", "visibility": "work_note"})

    assert await eventually_listed(stack, f"q={said}", [bobs, alices]) == [bobs, alices]
    assert await listed(stack, f"q={noted}") == []  # a work note is never searched
    assert await listed(stack, f"q={said}", "alice") == [alices]
    assert await listed(stack, f"q={said}", "bob") == [bobs]
    assert await listed(stack, f"q={said}%20modem") == [alices]  # every word
    assert await listed(stack, f"q=modems%20{said}") == [alices]  # word forms match

    nothing = await stack.call("GET", "/incidents?q=the%20%3F")
    assert nothing.status_code == 422 and nothing.json()["problems"][0]["field"] == "q"
    for path in (f"/incidents/similar?q={said}", "/queues/mine", "/queues/groups/apps"):
        refused = await stack.call("GET", path, "alice")
        assert refused.status_code == 403, path


async def test_filters_combine_with_each_other_and_paging(stack: Stack) -> None:
    service, ci = word(), word()
    first = await create(stack, category="network", service=service, ci=ci, caller="alice")
    second = await create(stack, category="software", service=service)
    third = await create(stack, category="network", service=service)
    everyone = [third, second, first]
    assert await eventually_listed(stack, f"service={service}", everyone) == everyone
    await stack.ok(
        "POST",
        f"/incidents/{third}/resolve",
        json={"resolution_code": "fixed", "resolution_notes": "Rebooted"},
    )
    assert await eventually_listed(stack, f"service={service}&open=false", [third]) == [third]
    assert await listed(stack, f"service={service}&open=true") == [second, first]
    assert await listed(stack, f"service={service}&category=network&open=true") == [first]
    assert await listed(stack, f"ci={ci}") == [first]
    assert await listed(stack, f"ci={ci}&caller=alice&status=assigned&group=network-l1") == [first]
    assert await listed(stack, f"ci={ci}&category=software") == []

    page = await stack.ok("GET", f"/incidents?service={service}&limit=2")
    assert [item["number"] for item in page["items"]] == [third, second]
    rest = await stack.ok(
        "GET", f"/incidents?service={service}&limit=2&cursor={page['next_cursor']}"
    )
    assert [item["number"] for item in rest["items"]] == [first] and rest["next_cursor"] is None


async def test_unknown_query_parameters_are_a_422_naming_them(stack: Stack) -> None:
    number = await create(stack)
    for path, name in [
        ("/incidents?servce=payroll", "servce"),
        ("/incidents?status=new&colour=red&zebra=1", "colour"),
        (f"/incidents/{number}?verbose=1", "verbose"),
        (f"/incidents/{number}/timeline?since=0", "since"),
        ("/incidents/similar?q=vpn&group=x", "group"),
        ("/known-errors/search?q=vpn&limt=3", "limt"),
        ("/queues/mine?order=asc", "order"),
    ]:
        answer = await stack.call("GET", path)
        assert answer.status_code == 422, (path, answer.text)
        body = answer.json()
        assert body["problems"][0]["field"] == name and name in body["error"], body
    both = await stack.call("GET", "/incidents?status=new&colour=red&zebra=1")
    assert "colour, zebra" in both.json()["error"]
    assert (await stack.call("GET", "/incidents?status=new&limit=1")).status_code == 200


async def test_similar_incidents_at_create_and_before_creating(stack: Stack) -> None:
    outage, service, ci = word(), word(), word()
    text = f"Office internet {outage} down"
    first = await create(stack, caller="alice", short_description=text, service=service, ci=ci)
    other = await create(stack, short_description="Laptop fan loud", service=service)
    await eventually_listed(stack, f"service={service}", [other, first])
    second = await create(stack, caller="alice", short_description=text, service=service, ci=ci)

    async def view() -> dict[str, Any]:
        found: dict[str, Any] = await stack.ok("GET", f"/incidents/{second}")
        return found

    seen = await eventually(view, lambda found: bool(found["similar"]), seconds=20)
    similar = seen["similar"]
    assert [(s["number"], s["why"]) for s in similar] == [
        (first, ["text", "service", "ci"]),
        (other, ["service"]),
    ]
    assert similar[0]["short_description"] == text and similar[0]["score"] > similar[1]["score"]
    timeline = await stack.ok("GET", f"/incidents/{second}/timeline")
    found = [entry for entry in timeline if entry["kind"] == "similar_found"]
    assert [s["number"] for s in found[0]["details"]["incidents"]] == [first, other]
    # The caller sees neither: they are other people's incidents.
    assert (await stack.ok("GET", f"/incidents/{second}", "alice"))["similar"] == []
    callers_timeline = await stack.ok("GET", f"/incidents/{second}/timeline", "alice")
    assert "similar_found" not in [entry["kind"] for entry in callers_timeline]

    looked = await stack.ok("GET", f"/incidents/similar?q=internet%20{outage}&ci={ci}")
    assert [(s["number"], s["why"]) for s in looked[:2]] == [
        (second, ["text", "ci"]),
        (first, ["text", "ci"]),
    ]
    await stack.ok("POST", f"/incidents/{first}/cancel", json={"reason": "Logged twice"})

    async def lookup() -> list[str]:
        found = await stack.ok("GET", f"/incidents/similar?q={outage}&service={service}")
        return [s["number"] for s in found]

    assert await eventually(lookup, lambda numbers: first not in numbers) == [second, other]
    empty = await stack.call("GET", "/incidents/similar")
    assert empty.status_code == 422 and empty.json()["problems"][0]["field"] == "q"


async def test_queues_put_the_nearest_breach_first_and_leave_out_resolved(stack: Stack) -> None:
    assign = {"group": "apps", "assignee": "sam"}

    async def assigned(impact: int, urgency: int) -> str:
        number = await create(stack, impact=impact, urgency=urgency, caller="alice")
        await stack.ok("POST", f"/incidents/{number}/assign", json=assign)
        return number

    p4 = await assigned(3, 2)
    p2 = await assigned(1, 2)
    waiting = await assigned(2, 2)
    await stack.ok("POST", f"/incidents/{waiting}/start", json={})
    await stack.ok(
        "POST", f"/incidents/{waiting}/pend", json={"reason": "awaiting_vendor", "note": "RMA"}
    )
    p3 = await assigned(2, 2)
    done = await assigned(1, 2)
    await stack.ok(
        "POST",
        f"/incidents/{done}/resolve",
        json={"resolution_code": "fixed", "resolution_notes": "Reseated the cable"},
    )
    mine = [p2, p3, p4, waiting]

    async def queue(path: str) -> list[dict[str, Any]]:
        found = await stack.ok("GET", f"{path}?limit=500")
        items: list[dict[str, Any]] = found["items"]
        return [item for item in items if item["number"] in (*mine, done)]

    for path in ("/queues/groups/apps", "/queues/mine"):
        items = await eventually(
            lambda path=path: queue(path),  # type: ignore[misc]
            lambda found: [item["number"] for item in found] == mine,
            seconds=20,
        )
        assert [item["number"] for item in items] == mine, path
        first, last = items[0], items[-1]
        assert first["clock"] == "response" and first["priority"] == "P2"
        assert 0 < first["remaining_seconds"] <= 1800 and first["remaining"].endswith("m")
        assert last["clock"] is None and last["remaining_seconds"] is None  # paused
        assert last["status"] == "pending"

    unknown = await stack.call("GET", "/queues/groups/no-such-group")
    assert unknown.status_code == 404 and "no-such-group" in unknown.json()["error"]
    # An agent reads every group's queue (contract 7): dana is not in apps.
    assert (await stack.call("GET", "/queues/groups/apps", "dana")).status_code == 200
    assert [item["number"] for item in await queue("/queues/mine")] == mine
    dana = await stack.ok("GET", "/queues/mine", "dana")
    assert not {item["number"] for item in dana["items"]} & set(mine)
