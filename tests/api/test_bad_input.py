"""Bad input over real HTTP and through the real `temporal` CLI: each gets a clear 4xx naming
what is wrong, or is stored intact; none crashes the API or the incident's workflow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from tests.conftest import BIN
from tests.support.apistack import Stack, api_stack, eventually, stack_settings
from tests.support.devserver import dev_server_with

TRIED: list[str] = []  # every bad input sent, for the count in the closing note


@pytest.fixture(scope="module", autouse=True)
def count_bad_inputs(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nbad inputs tried: {len(TRIED)}")


async def create(stack: Stack, caller: str, **fields: Any) -> dict[str, Any]:
    body = {"short_description": "Printer jams", "caller": caller} | fields
    result: dict[str, Any] = await stack.ok("POST", "/incidents", status=201, json=body)
    return result


async def rejected(
    stack: Stack, method: str, path: str, field: str, status: int = 422, **kwargs: Any
) -> dict[str, Any]:
    """Send a bad request: a clear 4xx whose body names the field."""
    TRIED.append(f"{method} {path} {field}")
    response = await stack.call(method, path, **kwargs)
    assert response.status_code == status, (field, response.status_code, response.text[:500])
    body: dict[str, Any] = response.json()
    assert field in body["error"], (field, body)
    if status == 422:
        assert field in [problem["field"] for problem in body["problems"]], body
    return body


async def nothing_for(stack: Stack, caller: str) -> None:
    listed = await stack.ok("GET", f"/incidents?caller={caller}")
    assert listed["items"] == []


# --- the incident body ----------------------------------------------------------------------


async def test_a_one_megabyte_description_is_refused_and_nothing_is_created(
    stack: Stack, caller: str
) -> None:
    body = {"short_description": "Huge", "caller": caller, "description": "x" * 1_000_000}
    error = await rejected(stack, "POST", "/incidents", "description", json=body)
    assert "32000" in error["error"]
    at_limit = await create(stack, caller, description="é" * 32_000)
    assert (await stack.ok("GET", f"/incidents/{at_limit['number']}"))["description"] == (
        "é" * 32_000
    )
    listed = await stack.ok("GET", f"/incidents?caller={caller}")
    assert [item["number"] for item in listed["items"]] == [at_limit["number"]]
    patch = {"description": "y" * 32_001}
    await rejected(stack, "PATCH", f"/incidents/{at_limit['number']}", "description", json=patch)


WRONG: list[tuple[dict[str, Any], str]] = [
    ({"short_description": 42}, "short_description"),
    ({"short_description": ["a"]}, "short_description"),
    ({"short_description": ""}, "short_description"),
    ({"short_description": "   "}, "short_description"),
    ({"short_description": "x" * 161}, "short_description"),
    ({"short_description": None}, "short_description"),
    ({"short_description": "x", "impact": "high"}, "impact"),
    ({"short_description": "x", "impact": 0}, "impact"),
    ({"short_description": "x", "impact": 1.5}, "impact"),
    ({"short_description": "x", "urgency": [1]}, "urgency"),
    ({"short_description": "x", "urgency": 10**100}, "urgency"),
    ({"short_description": "x", "caller": {"name": "x"}}, "caller"),
    ({"short_description": "x", "caller": ""}, "caller"),
    ({"short_description": "x", "category": "c" * 129}, "category"),
    ({"short_description": "x", "channel": "pigeon"}, "channel"),
    ({"short_description": "x", "description": 3.14}, "description"),
    ({"short_description": "x", "colour": "red"}, "colour"),
    ({"short_description": "x", "priority": "P1"}, "priority"),
    ({"short_description": "x", "status": "closed"}, "status"),
    ({"short_description": "x", "number": "INC0000001"}, "number"),
    ({"short_description": "x", "__proto__": {}}, "__proto__"),
]


async def test_wrong_types_and_unknown_fields_name_the_field(stack: Stack, caller: str) -> None:
    for body, field in WRONG:
        body = {"caller": caller} | body if "caller" not in body else body
        await rejected(stack, "POST", "/incidents", field, json=body)
    await nothing_for(stack, caller)

    number = (await create(stack, caller))["number"]
    actions = [
        ("assign", {"group": 42}, "group"),
        ("assign", {"group": "desk", "assignee": ["sam"]}, "assignee"),
        ("assign", {"group": "desk", "actor": "root"}, "actor"),
        ("assign", {"group": "desk", "request_id": "mine"}, "request_id"),
        ("comment", {"text": "hi", "visibility": "everyone"}, "visibility"),
        ("comment", {"text": {"en": "hi"}}, "text"),
        ("comment", {"text": "x" * 4001}, "text"),
        ("escalate", {"kind": "sideways", "reason": "x"}, "kind"),
        ("cancel", {"reason": "x", "force": True}, "force"),
        ("link-parent", {"parent": "INC1"}, "parent"),
        ("link-parent", {"parent": number}, "parent"),
    ]
    for action, action_body, field in actions:
        await rejected(stack, "POST", f"/incidents/{number}/{action}", field, json=action_body)
    await rejected(stack, "PATCH", f"/incidents/{number}", "impact", json={"impact": "one"})
    queries = [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("major=perhaps", "major"),
        ("status=exploded", "status"),
        ("priority=P9", "priority"),
        (f"caller={'c' * 129}", "caller"),
        ("cursor=" + "A" * 201, "cursor"),
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
    ]
    for query, field in queries:
        await rejected(stack, "GET", f"/incidents?{query}", field)
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    # Similar incidents of other tests may be found at create; no refused change is recorded.
    assert [entry["kind"] for entry in timeline if entry["kind"] != "similar_found"] == ["created"]


async def test_bodies_that_are_not_objects_or_not_json(stack: Stack, caller: str) -> None:
    number = (await create(stack, caller))["number"]
    raw: list[tuple[bytes, str]] = [
        (b"[]", "application/json"),
        (b'[{"short_description": "x"}]', "application/json"),
        (b"null", "application/json"),
        (b'"a string"', "application/json"),
        (b"42", "application/json"),
        (b"", "application/json"),
        (b"{", "application/json"),
        (b'{"short_description": "x",}', "application/json"),
        (b"{'short_description': 'x'}", "application/json"),
        (b'{"short_description": "x"} trailing', "application/json"),
        (b"\xff\xfe\x00{", "application/json"),
        (b'{"short_description": "\xc3\x28"}', "application/json"),
        (b"NaN", "application/json"),
        (b'{"short_description": "x", "impact": NaN}', "application/json"),
        (b'{"short_description": "x"}', "text/plain"),
        (b"short_description=x", "application/x-www-form-urlencoded"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    ]
    for path in ("/incidents", f"/incidents/{number}/comment"):
        for content, content_type in raw:
            TRIED.append(f"POST {path} {content[:20]!r}")
            response = await stack.call(
                "POST", path, content=content, headers={"Content-Type": content_type}
            )
            assert response.status_code == 422, (content[:40], response.text[:300])
            problems = response.json()["problems"]
            assert problems and all(problem["field"] for problem in problems), problems
    listed = await stack.ok("GET", f"/incidents?caller={caller}")
    assert [item["number"] for item in listed["items"]] == [number]
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    assert [entry["kind"] for entry in timeline if entry["kind"] == "comment"] == []


async def test_an_enormous_or_odd_idempotency_key_is_refused(stack: Stack, caller: str) -> None:
    body = {"short_description": "Keyed", "caller": caller}
    for key in ("k" * 201, "k" * 10_000):
        await rejected(
            stack,
            "POST",
            "/incidents",
            "Idempotency-Key",
            json=body,
            headers={"Idempotency-Key": key},
        )
    TRIED.append("POST /incidents Idempotency-Key 100 kB")
    huge = await stack.call(
        "POST", "/incidents", json=body, headers={"Idempotency-Key": "k" * 100_000}
    )
    assert 400 <= huge.status_code < 500
    await nothing_for(stack, caller)
    number = (await create(stack, caller))["number"]
    await rejected(
        stack,
        "POST",
        f"/incidents/{number}/comment",
        "Idempotency-Key",
        json={"text": "x"},
        headers={"Idempotency-Key": "k" * 201},
    )


# --- what is stored comes back intact -------------------------------------------------------

UNICODE = [
    "Drucker im 3. Stock 🖨️🔥 streikt",
    "👩🏽‍💻 cannot log in; 🏳️‍🌈 flag renders as two",
    "הדפסת מסמך נכשלה (RTL עברית) and English mixed",
    "طابعة الطابق الثالث لا تعمل \u200f!",
    "Ｚ̸̡̛a̷͔͐l̵̰͝g̶̱̈́o̴̗͆ combining marks",
    "e\u0301 vs \u00e9 (not normalised)",
    "\u202eright-to-left override\u202c and \u2066isolate\u2069",
    "zero\u200bwidth\u200cjoin\u200dand\ufeffBOM",
    "𝕳𝖊𝖑𝖑𝖔 astral plane 𠜎𠜱𠝹",
    "日本語のプリンターが動かない",
    "line one\nline two\r\nline three\ttabbed",
]
CONTROL = [
    "NUL \x00 in the middle",
    "bell \x07 backspace \x08 escape \x1b[31mred\x1b[0m",
    "DEL \x7f and C1 \x85 \x9b",
    "separators \u2028 and \u2029 between",
    "noncharacters \ufffe \uffff",
]


async def test_unicode_and_control_characters_are_stored_intact(stack: Stack, caller: str) -> None:
    texts = UNICODE + CONTROL
    for text in texts:
        TRIED.append(f"unicode {text[:10]!r}")
        short = text[:160]
        response = await stack.call(
            "POST",
            "/incidents",
            json={"short_description": short, "description": text, "caller": caller},
        )
        assert response.status_code == 201, (text, response.text)
        number = response.json()["number"]
        view = await stack.ok("GET", f"/incidents/{number}")
        assert (view["short_description"], view["description"]) == (short, text)
        comment = await stack.call(
            "POST", f"/incidents/{number}/comment", json={"text": text, "visibility": "public"}
        )
        assert comment.status_code == 200, (text, comment.text)
        timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
        assert [e["details"]["text"] for e in timeline if e["kind"] == "comment"] == [text]
        assert timeline[0]["details"]["short_description"] == short
    listed = await stack.ok("GET", f"/incidents?caller={caller}&limit=200")
    assert sorted(item["description"] for item in listed["items"]) == sorted(texts)


async def test_unpaired_surrogates_are_a_clear_422(stack: Stack, caller: str) -> None:
    # Valid JSON escapes, but no Unicode text: they cannot be stored or sent on as UTF-8.
    for escaped in ('"\\ud800"', '"a\\udfffb"', '"\\udc00\\ud800"'):
        TRIED.append(f"surrogate {escaped}")
        content = f'{{"short_description": {escaped}, "caller": "{caller}"}}'.encode()
        response = await stack.call(
            "POST", "/incidents", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["problems"][0]["field"] == "short_description"
    await nothing_for(stack, caller)


# --- volume -----------------------------------------------------------------------------------

# Temporal allows 2,000 updates in one run (history.maxTotalUpdates); 10,000 comments made the
# incident continue as new five times. A dev server of this test's own allows 200, so 1,000
# comments cross as many runs, in a tenth of the time.
COMMENTS = 1_000
UPDATES_PER_RUN = 200


@pytest_asyncio.fixture
async def few_updates_stack(
    tmp_path: Path, task_queue: str, records_url: str
) -> AsyncIterator[tuple[Stack, WorkflowEnvironment]]:
    env = await dev_server_with(**{"history.maxTotalUpdates": UPDATES_PER_RUN})
    try:
        address = env.client.service_client.config.target_host
        settings = stack_settings(tmp_path, address, task_queue, database_url=records_url)
        async with api_stack(env.client, settings) as stack:
            yield stack, env
    finally:
        await env.shutdown()


@pytest.mark.slow
async def test_a_thousand_comments_each_land_once_across_runs(
    few_updates_stack: tuple[Stack, WorkflowEnvironment], caller: str
) -> None:
    stack, env = few_updates_stack
    number = (await create(stack, caller))["number"]
    gate, refused = asyncio.Semaphore(20), []

    async def comment(index: int) -> None:
        async with gate:
            if refused:
                return  # one refusal fails the test: the rest would only take time
            response = await stack.call(
                "POST",
                f"/incidents/{number}/comment",
                json={"text": f"comment {index}", "visibility": "public"},
                headers={"Idempotency-Key": f"{number}-comment-{index}"},
            )
            if response.status_code != 200:
                refused.append(f"comment {index}: {response.status_code} {response.text[:300]}")

    TRIED.append(f"{COMMENTS:,} comments")
    await asyncio.gather(*(comment(index) for index in range(COMMENTS)))
    assert not refused, refused[0]

    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    texts = [entry["details"]["text"] for entry in timeline if entry["kind"] == "comment"]
    assert len(texts) == COMMENTS
    assert sorted(texts) == sorted(f"comment {index}" for index in range(COMMENTS))
    assigned = await stack.ok(
        "POST", f"/incidents/{number}/assign", json={"group": "desk", "assignee": "sam"}
    )
    assert assigned["status"] == "assigned"
    # And the record store, which outlives the workflow, has them all too.
    canceled = await stack.ok("POST", f"/incidents/{number}/cancel", json={"reason": "done"})
    assert canceled["status"] == "canceled"
    recorded = await stack.ok("GET", f"/incidents/{number}/timeline")
    assert sum(entry["kind"] == "comment" for entry in recorded) == COMMENTS
    runs = [run async for run in env.client.list_workflows(f'WorkflowId="incident-{number}"')]
    assert len(runs) >= COMMENTS // UPDATES_PER_RUN, "the comments crossed continue-as-new"


# --- signals from the temporal CLI --------------------------------------------------------


async def temporal_signal(env: WorkflowEnvironment, number: str, *args: str) -> None:
    address = env.client.service_client.config.target_host
    process = await asyncio.create_subprocess_exec(
        str(BIN / "temporal"),
        "workflow",
        "signal",
        "--address",
        address,
        "--workflow-id",
        f"incident-{number}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, (args, out, err)


SIGNALS: list[tuple[list[str], str]] = [
    (["--name", "pend", "--input", '{"reason": 42}'], "reason"),
    (["--name", "pend", "--input", '{"reason": "awaiting_caller"}'], "note"),
    (["--name", "pend", "--input", "[1, 2, 3]"], "body"),
    (["--name", "pend", "--input", "null"], "body"),
    (["--name", "assign", "--input", '{"group": "x" , "colour": "red"}'], "colour"),
    (["--name", "assign", "--input", '"just a string"'], "body"),
    (["--name", "assign"], "group"),
    (["--name", "resolve", "--input", '{"resolution_code": "fixed"}'], "resolution_notes"),
    (["--name", "comment", "--input", '{"text": ""}'], "text"),
    (["--name", "comment", "--input", '{"text": "' + "x" * 4001 + '"}'], "text"),
    (["--name", "explode", "--input", "{}"], "action"),
    (["--name", "close", "--input", "{}"], "close"),
]
# Not JSON at all: the CLI refuses to send non-JSON as json/plain, so it goes as another encoding.
NOT_JSON: list[tuple[list[str], str]] = [
    (["--name", "comment", "--input", "not json", "--input-meta", "encoding=binary/plain"], "body"),
    (["--name", "pend", "--input", "", "--input-meta", "encoding=binary/null"], "body"),
]

BOGUS_ALERT = {
    "source": "prometheus",
    "dedup_key": "db01/cpu",
    "action": "bogus",
    "summary": "CPU",
    "severity": "warning",
    "received_at": "2026-11-30T09:00:00Z",
}
# Events for the typed handlers; what is wrong with each is for the workflow to say.
BAD_EVENTS: list[tuple[list[str], str]] = [
    (["--name", "vendor_update", "--input", '{"x": 1}'], ""),
    (["--name", "alert", "--input", '{"action": "explode"}'], ""),
    (["--name", "child_linked", "--input", "42"], ""),
    (["--name", "alert", "--input", json.dumps(BOGUS_ALERT)], "action"),
    (["--name", "parent_resolved", "--input", '{"parent": "INC0000001"}'], "group"),
]


async def test_malformed_signals_are_recorded_as_rejected(
    stack: Stack, dev_env: WorkflowEnvironment, caller: str
) -> None:
    await signals_are_rejected(stack, dev_env, caller, SIGNALS)


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
async def test_signals_that_are_not_json_are_recorded_as_rejected(
    stack: Stack, dev_env: WorkflowEnvironment, caller: str
) -> None:
    await signals_are_rejected(stack, dev_env, caller, NOT_JSON)


async def test_malformed_event_signals_are_recorded_as_rejected(
    stack: Stack, dev_env: WorkflowEnvironment, caller: str
) -> None:
    await signals_are_rejected(stack, dev_env, caller, BAD_EVENTS)


async def signals_are_rejected(
    stack: Stack, dev_env: WorkflowEnvironment, caller: str, signals: list[tuple[list[str], str]]
) -> None:
    """Each signal lands in the timeline as rejected, naming the field; the incident is untouched
    and still takes transitions, from the API and from the CLI."""
    number = (await create(stack, caller))["number"]
    for args, _ in signals:
        TRIED.append(f"signal {' '.join(args)[:60]}")
        await temporal_signal(dev_env, number, *args)
    await no_workflow_task_failed(dev_env, number)

    async def rejections() -> list[dict[str, Any]]:
        timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
        return [entry for entry in timeline if entry["kind"] == "rejected"]

    found = await eventually(rejections, lambda entries: len(entries) >= len(signals), seconds=5)
    assert len(found) == len(signals), json.dumps(found, indent=1)[:3000]
    for entry, (args, field) in zip(found, signals, strict=True):
        assert entry["details"]["action"] == args[1], entry
        assert field in entry["details"]["error"], (args, entry)

    view = await stack.ok("GET", f"/incidents/{number}")
    assert view["status"] == "new" and view["assignment_group"] is None
    assigned = await stack.ok(
        "POST", f"/incidents/{number}/assign", json={"group": "desk", "assignee": "sam"}
    )
    assert assigned["status"] == "assigned"
    await temporal_signal(dev_env, number, "--name", "start", "--input", "{}")

    async def status() -> str:
        return str((await stack.ok("GET", f"/incidents/{number}"))["status"])

    assert await eventually(status, lambda now: now == "in_progress") == "in_progress"


async def no_workflow_task_failed(env: WorkflowEnvironment, number: str) -> None:
    """A signal that breaks the workflow's code leaves it retrying a task for ever: end it."""
    handle = env.client.get_workflow_handle(f"incident-{number}")
    await asyncio.sleep(1)
    failed = [
        event.workflow_task_failed_event_attributes.failure.message
        for event in (await handle.fetch_history()).events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    if failed:
        await handle.terminate("a signal failed its workflow task")
    assert not failed, failed[0]


async def test_bodies_read_by_hand_are_checked_like_the_others(stack: Stack) -> None:
    """POST /known-errors reads its body itself (its model depends on a query parameter)."""
    raw = [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe", b"{", b"null", b"[]", b'"x"', b"{}"]
    for content in raw:
        TRIED.append(f"POST /known-errors {content[:20]!r}")
        response = await stack.call(
            "POST", "/known-errors", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, (content[:20], response.text[:300])
        assert response.json()["problems"], response.text


async def test_alert_details_are_bounded(stack: Stack, caller: str) -> None:
    alert = {"source": "bad-input", "dedup_key": caller, "action": "trigger", "summary": "Disk"}
    for details in ({"blob": "x" * 3_000_000}, {f"k{index}": "v" * 100 for index in range(2000)}):
        await rejected(
            stack, "POST", "/alerts", "details", json=alert | {"details": details}, who="monitoring"
        )
    nested: Any = "bottom"
    for _ in range(200):
        nested = {"down": nested}
    await rejected(
        stack, "POST", "/alerts", "details", json=alert | {"details": nested}, who="monitoring"
    )
    within = {"labels": {"host": "db01", "tags": ["a", {"b": [1, 2, None]}]}, "value": 97.5}
    created = await stack.ok(
        "POST", "/alerts", "monitoring", status=201, json=alert | {"details": within}
    )
    assert created["created"] is True
