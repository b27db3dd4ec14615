"""Decisions that must hold under concurrent calls (issue 12 point 6 and 7): a survey is
answered once, and parent links never make a loop, whatever the depth."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.apistack import Stack, eventually


async def closed_incident(stack: Stack) -> str:
    body = {"short_description": "Slow VPN"}
    number: str = (await stack.ok("POST", "/incidents", "alice", status=201, json=body))["number"]
    await stack.ok("POST", f"/incidents/{number}/assign", json={"group": "desk", "assignee": "sam"})
    resolve = {"resolution_code": "fixed", "resolution_notes": "MTU"}
    await stack.ok("POST", f"/incidents/{number}/resolve", json=resolve)
    await stack.ok("POST", f"/incidents/{number}/close", "alice", json={})
    await eventually(
        lambda: stack.ok("GET", f"/incidents/{number}"), lambda i: i["status"] == "closed"
    )
    return number


async def test_ten_parallel_survey_answers_one_counts(stack: Stack) -> None:
    number = await closed_incident(stack)
    typed = await stack.call("POST", f"/incidents/{number}/survey", "alice", json={"score": "4"})
    assert typed.status_code == 422 and typed.json()["problems"][0]["field"] == "score"

    answers = [{"score": 1 + index % 5, "comment": f"answer {index}"} for index in range(10)]
    responses = await asyncio.gather(
        *[
            stack.call("POST", f"/incidents/{number}/survey", "alice", json=answer)
            for answer in answers
        ]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 9, [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert all("already answered" in r.json()["error"] for r in responses if r.status_code == 409)

    record = await stack.ok("GET", f"/incidents/{number}", "alice")
    assert (record["survey_score"], record["survey_comment"]) == (
        winner["survey_score"],
        winner["survey_comment"],
    )
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline", "alice")
    surveys = [entry for entry in timeline if entry["kind"] == "survey"]
    assert len(surveys) == 1
    assert surveys[0]["details"] == {
        "score": winner["survey_score"],
        "comment": winner["survey_comment"],
    }
    print(f"\nsurveys: 10 parallel answers to {number}: 1 x 200, 9 x 409")


async def create_many(stack: Stack, count: int) -> list[str]:
    numbers = []
    for index in range(count):
        body = {"short_description": f"Linked {index}"}
        numbers.append((await stack.ok("POST", "/incidents", status=201, json=body))["number"])
    return numbers


async def link(stack: Stack, child: str, parent: str) -> int:
    response = await stack.call("POST", f"/incidents/{child}/link-parent", json={"parent": parent})
    assert response.status_code in (200, 422), response.text
    return response.status_code


async def parents_of(stack: Stack, numbers: list[str]) -> dict[str, str | None]:
    views = await asyncio.gather(*[stack.ok("GET", f"/incidents/{n}") for n in numbers])
    return {view["number"]: view["parent"] for view in views}


def has_cycle(parents: dict[str, str | None]) -> bool:
    for start in parents:
        seen, current = set(), parents[start]
        while current is not None and current in parents:
            if current == start or current in seen:
                return True
            seen.add(current)
            current = parents[current]
    return False


@pytest.mark.slow
async def test_fifty_concurrent_opposite_links_never_make_a_cycle(stack: Stack) -> None:
    numbers = await create_many(stack, 100)
    pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
    calls = [link(stack, a, b) for a, b in pairs] + [link(stack, b, a) for a, b in pairs]
    codes = await asyncio.gather(*calls)
    assert codes.count(200) == len(pairs) and codes.count(422) == len(pairs)
    parents = await parents_of(stack, numbers)
    assert not has_cycle(parents)
    for a, b in pairs:  # exactly one direction of each pair holds, in the workflow too
        assert (parents[a] == b) != (parents[b] == a)
    print(f"\nlinks: {len(codes)} concurrent opposite link-parent calls, 0 cycles")


async def test_a_loop_of_any_length_is_refused(stack: Stack) -> None:
    chain = await create_many(stack, 25)
    for child, parent in zip(chain, chain[1:], strict=False):
        assert await link(stack, child, parent) == 200
    closing = await stack.call(
        "POST", f"/incidents/{chain[-1]}/link-parent", json={"parent": chain[0]}
    )
    assert closing.status_code == 422, closing.text
    assert closing.json()["problems"][0]["field"] == "parent"
    assert "descends" in closing.json()["error"]
    assert (await stack.ok("GET", f"/incidents/{chain[-1]}"))["parent"] is None
    print(f"\nlinks: a {len(chain)}-incident loop refused at its last link")
