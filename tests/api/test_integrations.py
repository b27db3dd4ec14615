"""Monitoring tools over real HTTP against the dev server: PagerDuty's Events API v2 as
PagerDuty documents it, Alertmanager and Grafana webhooks, and flapping alerts."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.support.apistack import TOKENS, Stack, eventually, free_port, serve_api, stack_settings
from tests.support.integrations import integration, integration_stack, tokens_with

# PagerDuty's published OpenAPI for the Events API v2: github.com/PagerDuty/api-schema,
# reference/events-v2/openapiv3.json (commit 5cd58ff2b5eebc209eaf19e0ff6ca8f40bdd5a94),
# POST /enqueue. Request body properties (required: routing_key, event_action):
PD_REQUEST_FIELDS = {
    "payload", "routing_key", "event_action", "dedup_key", "client", "client_url", "links",
    "images",
}  # fmt: skip
PD_REQUIRED = {"routing_key", "event_action"}
PD_EVENT_ACTIONS = {"trigger", "acknowledge", "resolve"}
# components.schemas.Payload (required: summary, severity, source)
PD_PAYLOAD_FIELDS = {
    "summary", "timestamp", "severity", "source", "component", "group", "class", "custom_details",
}  # fmt: skip
PD_SEVERITIES = {"critical", "warning", "error", "info"}
PD_LINK_FIELDS, PD_IMAGE_FIELDS = {"href", "text"}, {"src", "href", "alt"}
# responses: 202 Success {status, dedup_key, message} ("success", "Event processed");
# 400 Bad Request; 429 Too many API calls; errors {status, message, errors[]}. PagerDuty's
# 400 example: {"status": "invalid event", "message": "Event object is invalid", "errors": [...]}
PD_SUCCESS_FIELDS = ["status", "message", "dedup_key"]
PD_ERROR_FIELDS = {"status", "message", "errors"}

POLICY = '[alerts]\nreopen_window = "3s"\n'
KUMA = integration(
    f"kuma-{uuid.uuid4().hex[:6]}", service="website", group="web-l1", category="availability"
)


@pytest_asyncio.fixture
async def stack(
    dev_env: WorkflowEnvironment, tmp_path: Path, records_url: str
) -> AsyncIterator[Stack]:
    async with integration_stack(dev_env, tmp_path, records_url, POLICY, [KUMA]) as running:
        yield running


def pd(action: str = "trigger", dedup_key: str | None = None, **payload: Any) -> dict[str, Any]:
    """An event with every field PagerDuty's OpenAPI lists."""
    event: dict[str, Any] = {
        "routing_key": KUMA["key"],
        "event_action": action,
        "payload": {
            "summary": "DISK at 99% on machine prod-datapipe03.example.com",
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "severity": "critical",
            "source": "prod-datapipe03.example.com",
            "component": "mysql",
            "group": "prod-datapipe",
            "class": "disk",
            "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75},
        }
        | payload,
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.service.com",
        "links": [{"href": "http://pagerduty.example.com", "text": "An example link."}],
        "images": [
            {
                "src": "https://chart.example.com/c.png",
                "href": "https://example.com",
                "alt": "An example link with an image",
            }
        ],
    }
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    assert set(event) == PD_REQUEST_FIELDS - ({"dedup_key"} if dedup_key is None else set())
    assert set(event["payload"]) == PD_PAYLOAD_FIELDS
    assert set(event["links"][0]) == PD_LINK_FIELDS and set(event["images"][0]) == PD_IMAGE_FIELDS
    return event


async def enqueue(stack: Stack, body: Any) -> tuple[int, bytes, dict[str, Any]]:
    response = await stack.http.post("/v2/enqueue", json=body)
    return response.status_code, response.content, response.json()


async def incidents_of(stack: Stack, caller: str, count: int) -> list[dict[str, Any]]:
    async def listed() -> list[dict[str, Any]]:
        page = await stack.ok("GET", f"/incidents?caller={caller}&limit=200")
        items: list[dict[str, Any]] = page["items"]
        return items

    found = await eventually(listed, lambda items: len(items) >= count, seconds=20)
    assert len(found) == count, found
    return sorted(found, key=lambda item: item["number"])


async def incident(stack: Stack, number: str, check: Any) -> dict[str, Any]:
    found: dict[str, Any] = await eventually(
        lambda: stack.ok("GET", f"/incidents/{number}"), check, seconds=20
    )
    assert check(found), found
    return found


async def test_pagerduty_events_open_repeat_acknowledge_and_resolve(stack: Stack) -> None:
    key = f"srv01/mysql/{uuid.uuid4().hex[:6]}"
    status, raw, body = await enqueue(stack, pd(dedup_key=key))
    assert status == 202
    assert (
        raw
        == json.dumps(
            {"status": "success", "message": "Event processed", "dedup_key": key},
            separators=(",", ":"),
        ).encode()
    )  # byte for byte
    assert list(body) == PD_SUCCESS_FIELDS
    [opened] = await incidents_of(stack, KUMA["name"], 1)
    number = opened["number"]
    assert (opened["priority"], opened["service"], opened["category"]) == (
        "P1",
        "website",
        "availability",
    )
    assert opened["assignment_group"] == "web-l1" and opened["channel"] == "monitoring"
    origin = opened["alert"]["origin"]
    assert origin["tool"] == "pagerduty-events-v2" and origin["integration"] == KUMA["name"]
    assert origin["ci"] == "prod-datapipe03.example.com"
    assert {
        "https://monitoring.service.com",
        "http://pagerduty.example.com",
        "https://chart.example.com/c.png",
    } <= {link["href"] for link in origin["links"]}
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    created = next(entry for entry in timeline if entry["kind"] == "created")
    assert created["details"]["alert"]["tool"] == "pagerduty-events-v2"
    assert created["details"]["alert"]["labels"]["component"] == "mysql"

    for _ in range(2):
        assert (await enqueue(stack, pd(dedup_key=key)))[0] == 202
    repeated = await incident(stack, number, lambda i: i["alert"]["occurrences"] == 3)
    assert repeated["alert"]["last_seen"] > repeated["alert"]["first_seen"]

    await stack.ok(
        "POST", f"/incidents/{number}/assign", json={"group": "web-l1", "assignee": "sam"}
    )
    assert (await enqueue(stack, pd("acknowledge", key)))[0] == 202
    await incident(stack, number, lambda i: i["status"] == "in_progress")
    assert (
        await enqueue(
            stack, {"routing_key": KUMA["key"], "event_action": "resolve", "dedup_key": key}
        )
    )[0] == 202
    resolved = await incident(stack, number, lambda i: i["status"] == "resolved")
    assert resolved["resolution_code"] == "auto_resolved"


async def test_a_trigger_without_dedup_key_gets_one(stack: Stack) -> None:
    status, _, body = await enqueue(stack, pd())
    assert status == 202 and re.fullmatch(r"[0-9a-f]{32}", body["dedup_key"])
    again = await enqueue(stack, pd(dedup_key=body["dedup_key"]))
    assert again[0] == 202 and again[2]["dedup_key"] == body["dedup_key"]


async def test_bad_events_are_answered_as_pagerduty_answers(stack: Stack) -> None:
    cases: list[tuple[Any, str]] = [
        (pd(severity="fatal"), "'payload.severity' is invalid"),
        (pd(summary=""), "'payload.summary' is missing or blank"),
        ({"routing_key": KUMA["key"], "event_action": "resolve"}, "'dedup_key' is missing"),
        ({"event_action": "trigger"}, "'routing_key' is missing or blank"),
        (pd() | {"routing_key": "0" * 32}, "Invalid routing key"),
        (pd() | {"links": [{"text": "x"}]}, "'links[0].href' is missing or blank"),
    ]
    for event, error in cases:
        status, _, body = await enqueue(stack, event)
        assert status == 400, body
        assert set(body) == PD_ERROR_FIELDS
        assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
        assert any(found.startswith(error) for found in body["errors"]), (error, body)
    garbage = await stack.http.post(
        "/v2/enqueue", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert garbage.status_code == 400 and garbage.json()["errors"] == ["JSON parse error"]
    for action in ("acknowledge", "resolve"):  # no such alert: accepted and ignored
        event = {"routing_key": KUMA["key"], "event_action": action, "dedup_key": "never-seen"}
        assert (await enqueue(stack, event))[0] == 202
    assert "/v2/enqueue" in (await stack.http.get("/openapi.json")).json()["paths"]


async def test_a_flapping_alert_reopens_within_the_window_and_opens_anew_after_it(
    stack: Stack,
) -> None:
    name = f"flap-{uuid.uuid4().hex[:6]}"
    key = f"{name}/cpu"

    async def send(action: str) -> None:
        event = pd(action, key, summary=f"{name} CPU")
        assert (await enqueue(stack, event))[0] == 202

    async def mine(count: int) -> list[dict[str, Any]]:
        found = await eventually(
            lambda: stack.ok("GET", f"/incidents?caller={KUMA['name']}&limit=200"),
            lambda page: (
                sum(f"{name} CPU" in i["short_description"] for i in page["items"]) >= count
            ),
            seconds=20,
        )
        items = [i for i in found["items"] if f"{name} CPU" in i["short_description"]]
        assert len(items) == count, items
        return sorted(items, key=lambda item: item["number"])

    await send("trigger")
    [first] = await mine(1)
    await send("resolve")
    await incident(stack, first["number"], lambda i: i["status"] == "resolved")
    await send("trigger")  # within the 3 s window of the auto-resolution: reopened
    reopened = await incident(stack, first["number"], lambda i: i["status"] == "in_progress")
    assert reopened["reopen_count"] == 1 and reopened["alert"]["occurrences"] == 2
    timeline = await stack.ok("GET", f"/incidents/{first['number']}/timeline")
    assert [e["kind"] for e in timeline if e["kind"] in ("resolve", "reopen")] == [
        "resolve",
        "reopen",
    ]

    await send("resolve")
    await incident(stack, first["number"], lambda i: i["status"] == "resolved")
    await asyncio.sleep(3.5)  # the window passes
    await send("trigger")
    first_again, second = await mine(2)
    assert first_again["status"] == "resolved" and second["status"] in ("new", "assigned")

    # Resolved by hand: the next trigger opens a new incident at once.
    resolve = {"resolution_code": "fixed", "resolution_notes": "Killed the runaway job"}
    await stack.ok("POST", f"/incidents/{second['number']}/resolve", json=resolve)
    await incident(stack, second["number"], lambda i: i["status"] == "resolved")
    await asyncio.sleep(0.5)  # the incident's news reaches its router
    await send("trigger")
    *_, third = await mine(3)
    assert third["number"] not in (first["number"], second["number"])
    second_now = await stack.ok("GET", f"/incidents/{second['number']}")
    assert second_now["status"] == "resolved" and second_now["reopen_count"] == 0


def am_body(receiver: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    alert = {
        "status": status,
        "labels": {"alertname": "DiskFull", "instance": "db01", "severity": "warning"} | labels,
        "annotations": {"summary": "Disk full on db01", "description": "/var at 100%"},
        "startsAt": "2026-11-30T09:00:00Z",
        "endsAt": "2026-11-30T09:05:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
        "fingerprint": uuid.uuid4().hex[:16],
    }
    return {
        "version": "4",
        "status": status,
        "receiver": receiver,
        "alerts": [alert],
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager:9093",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "someFieldAddedLater": [1, 2],
    }


async def test_webhook_payloads_posted_directly(stack: Stack) -> None:
    receiver = f"ops-{uuid.uuid4().hex[:6]}"
    body = am_body(receiver)
    answer = await stack.ok("POST", "/integrations/alertmanager", "monitoring", json=body)
    assert answer["tool"] == "alertmanager" and answer["alerts"] == 1
    [routed] = answer["routed"]
    assert routed["created"] and routed["dedup_key"] == body["alerts"][0]["fingerprint"]
    opened = await stack.ok("GET", f"/incidents/{routed['incident']}")
    assert opened["caller"] == f"alertmanager/{receiver}" and opened["priority"] == "P3"
    assert opened["short_description"] == "Disk full on db01"
    assert opened["description"].startswith("/var at 100%")

    body["status"] = body["alerts"][0]["status"] = "resolved"
    again = await stack.ok("POST", "/integrations/alertmanager", "monitoring", json=body)
    assert again["routed"][0]["incident"] == routed["incident"]
    resolved = await incident(stack, routed["incident"], lambda i: i["status"] == "resolved")
    assert resolved["resolution_code"] == "auto_resolved"

    grafana = am_body(f"grafana-{uuid.uuid4().hex[:6]}") | {
        "version": "1",
        "orgId": 1,
        "state": "alerting",
        "title": "t",
    }
    grafana["alerts"][0] |= {
        "dashboardURL": "https://grafana/d/1",
        "panelURL": "",
        "silenceURL": "https://grafana/silence",
        "values": {"B": 99.5},
    }
    answer = await stack.ok("POST", "/integrations/alertmanager", "monitoring", json=grafana)
    made = await stack.ok("GET", f"/incidents/{answer['routed'][0]['incident']}")
    links = {link["text"]: link["href"] for link in made["alert"]["origin"]["links"]}
    assert made["alert"]["origin"]["tool"] == "grafana"
    assert links["dashboard"] == "https://grafana/d/1" and "panel" not in links


async def test_an_alert_labelled_with_a_models_category_opens_with_its_playbook(
    stack: Stack,
) -> None:
    body = am_body(f"net-{uuid.uuid4().hex[:6]}", category="network", subcategory="outage")
    answer = await stack.ok("POST", "/integrations/alertmanager", "monitoring", json=body)
    opened = await stack.ok("GET", f"/incidents/{answer['routed'][0]['incident']}")
    assert (opened["category"], opened["subcategory"]) == ("network", "outage")
    assert opened["playbook"]["model"] == "network-outage"
    assert opened["priority"] == "P3"  # the alert's severity, not the model's default impact
    plain = await stack.ok("POST", "/integrations/alertmanager", "monitoring", json=am_body("x"))
    assert (await stack.ok("GET", f"/incidents/{plain['routed'][0]['incident']}"))[
        "playbook"
    ] is None


async def test_webhook_input_and_access(stack: Stack) -> None:
    body = am_body("ops")
    assert (
        await stack.call("POST", "/integrations/alertmanager", "sam", json=body)
    ).status_code == 403
    assert (await stack.http.post("/integrations/alertmanager", json=body)).status_code == 401
    for change, field in (
        ({"version": "9"}, "version"),
        ({"alerts": [{"status": "firing", "labels": {"a": 1}}]}, "alerts.0.labels.a"),
        ({"alerts": [{"labels": {}}]}, "alerts.0.status"),
    ):
        bad = await stack.call(
            "POST", "/integrations/alertmanager", "monitoring", json=body | change
        )
        assert bad.status_code == 422, bad.text
        assert bad.json()["problems"][0]["field"] == field


async def test_temporal_down_is_a_429_for_pagerduty_senders_and_a_503_for_webhooks(
    tmp_path: Path,
) -> None:
    settings = stack_settings(
        tmp_path,
        f"127.0.0.1:{free_port()}",
        f"incidents-{uuid.uuid4()}",
        tokens_file=tokens_with(tmp_path / "integration-tokens.toml", [KUMA]),
    )
    async with serve_api(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        throttled = await http.post("/v2/enqueue", json=pd(dedup_key="down"))
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
        hook = await http.post(
            "/integrations/alertmanager",
            json=am_body("ops"),
            headers={"Authorization": f"Bearer {TOKENS['monitoring'][1]}"},
        )
        assert hook.status_code == 503 and hook.headers.get("content-type") == "application/json"


async def test_oversized_or_odd_values_from_tools_never_stall_an_alert(stack: Stack) -> None:
    """Tools send what they send: cut to size, never a 5xx, never a request left waiting."""
    receiver = f"odd-{uuid.uuid4().hex[:6]}"
    odd = [
        {"service": "s" * 150, "category": "c" * 300, "team": "t" * 5000},
        {"fingerprint": "f" * 1200},
        {"fingerprint": "nul\x00and\nnewline"},
        {"values": {f"v{i}": {"deep": [[[[[[[[[[[[[[[[[[i]]]]]]]]]]]]]]]]]]} for i in range(30)}},
    ]
    for change in odd:
        body = am_body(receiver)
        alert = body["alerts"][0]
        labels = {k: v for k, v in change.items() if k in ("service", "category", "team")}
        alert["labels"] |= labels
        alert |= {k: v for k, v in change.items() if k not in labels}
        answer = await asyncio.wait_for(
            stack.call("POST", "/integrations/alertmanager", "monitoring", json=body), 30
        )
        assert answer.status_code == 200, (change.keys(), answer.text)
        made = await stack.ok("GET", f"/incidents/{answer.json()['routed'][0]['incident']}")
        assert made["service"] is None or len(made["service"]) <= 128
    event = pd(dedup_key="nul\x00key " + "k" * 200, summary="x" * 5000)
    status, _, body = await asyncio.wait_for(enqueue(stack, event), 30)
    assert status == 202 and body["dedup_key"] == event["dedup_key"]
