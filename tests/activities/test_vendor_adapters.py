"""Vendor tickets against a real local vendor, and the vendor webhook over a real API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.vendor_tickets import VendorActivities
from core.settings import load_policy
from domain.policy import Policy, VendorPolicy
from domain.vendors import VendorTicketRequest, VendorTicketResult
from recordstore import RecordStore
from recordstore.vendor_tickets import link_vendor_ticket, number_for_vendor_ticket
from tests.support.apistack import Stack, eventually, serve_api, stack_settings
from tests.support.httpstub import HttpStub, http_stub
from worker import build_worker


@pytest_asyncio.fixture
async def stub() -> AsyncIterator[HttpStub]:
    async with http_stub() as running:
        yield running


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def vendor_policy(url: str, timeout: str = "5s") -> Policy:
    return Policy(vendors={"acme": VendorPolicy(url=url, token="acme-token", timeout=timeout)})


def ticket_request(number: str = "INC0004242", **fields: Any) -> VendorTicketRequest:
    values = {
        "key": f"{number}/vendor/{uuid.uuid4().hex[:8]}",
        "vendor": "acme",
        "number": number,
        "summary": "Router in rack 4 reboots every hour",
        "priority": "P2",
        "short_description": "Branch office offline",
    } | fields
    return VendorTicketRequest(**values)


async def open_ticket(
    activities: VendorActivities, request: VendorTicketRequest
) -> VendorTicketResult:
    result: VendorTicketResult = await ActivityEnvironment().run(
        activities.create_vendor_ticket, request
    )
    return result


# --- the activity ---------------------------------------------------------------------------


async def test_a_ticket_is_opened_and_mapped_to_the_incident(
    stub: HttpStub, http: httpx.AsyncClient, store: RecordStore
) -> None:
    activities = VendorActivities(vendor_policy(f"{stub.url}/api/"), http, store)
    request = ticket_request()
    result = await open_ticket(activities, request)

    assert result == VendorTicketResult(
        vendor="acme", ticket_id="VT-0001", status="open", url=f"{stub.url}/tickets/VT-0001"
    )
    (seen,) = stub.requests
    assert (seen.method, seen.path) == ("POST", "/api/tickets")
    assert seen.key == request.key
    assert seen.headers["authorization"] == "Bearer acme-token"
    assert seen.json == {
        "reference": "INC0004242",
        "summary": "Router in rack 4 reboots every hour",
        "priority": "P2",
        "short_description": "Branch office offline",
    }
    assert await number_for_vendor_ticket(store.database, "acme", "VT-0001") == "INC0004242"
    assert await number_for_vendor_ticket(store.database, "acme", "VT-9999") is None
    assert await number_for_vendor_ticket(store.database, "other", "VT-0001") is None


async def test_a_repeated_request_gets_the_same_ticket(
    stub: HttpStub, http: httpx.AsyncClient, store: RecordStore
) -> None:
    activities = VendorActivities(vendor_policy(stub.url), http, store)
    request = ticket_request()
    first = await open_ticket(activities, request)
    second = await open_ticket(activities, request)
    assert first == second and len(stub.tickets) == 1
    # idempotent too
    await link_vendor_ticket(store.database, "acme", first.ticket_id, request.number)
    assert await number_for_vendor_ticket(store.database, "acme", first.ticket_id) == request.number


async def test_a_refusal_is_final_and_says_why(
    stub: HttpStub, http: httpx.AsyncClient, store: RecordStore
) -> None:
    activities = VendorActivities(vendor_policy(stub.url), http, store)
    stub.answer(1, 422, body='{"error": "priority P2 is not in your contract"}')
    with pytest.raises(ApplicationError) as raised:
        await open_ticket(activities, ticket_request())
    error = raised.value
    assert error.type == "VendorRejected" and error.non_retryable
    assert "422" in error.message and "not in your contract" in error.message
    assert error.details[0]["status"] == 422


@pytest.mark.parametrize("status", [429, 503])
async def test_busy_or_down_is_retried_after_its_retry_after(
    stub: HttpStub, http: httpx.AsyncClient, store: RecordStore, status: int
) -> None:
    activities = VendorActivities(vendor_policy(stub.url), http, store)
    stub.answer(1, status, retry_after=2)
    with pytest.raises(ApplicationError) as raised:
        await open_ticket(activities, ticket_request())
    assert raised.value.type == "VendorUnavailable" and not raised.value.non_retryable
    assert raised.value.next_retry_delay == timedelta(seconds=2)


async def test_an_answer_without_a_ticket_id_is_final(
    stub: HttpStub, http: httpx.AsyncClient, store: RecordStore
) -> None:
    activities = VendorActivities(vendor_policy(stub.url), http, store)
    stub.answer(1, 200, body='{"status": "queued"}')
    with pytest.raises(ApplicationError) as raised:
        await open_ticket(activities, ticket_request())
    assert raised.value.type == "VendorRejected" and raised.value.non_retryable


async def test_an_unknown_vendor_is_final(http: httpx.AsyncClient, store: RecordStore) -> None:
    activities = VendorActivities(vendor_policy("http://127.0.0.1:9"), http, store)
    with pytest.raises(ApplicationError) as raised:
        await open_ticket(activities, ticket_request(vendor="globex"))
    assert raised.value.type == "UnknownVendor" and raised.value.non_retryable
    assert "known: acme" in raised.value.message


@pytest.fixture
def any_store(store_on_each_backend: RecordStore) -> RecordStore:
    return store_on_each_backend


async def test_the_ticket_mapping_keeps_its_first_incident(any_store: RecordStore) -> None:
    ticket = f"T-{uuid.uuid4().hex[:8]}"
    await link_vendor_ticket(any_store.database, "acme", ticket, "INC0000010")
    await link_vendor_ticket(any_store.database, "acme", ticket, "INC0000010")  # a retried activity
    await link_vendor_ticket(any_store.database, "acme", ticket, "INC0000011")  # never re-pointed
    assert await number_for_vendor_ticket(any_store.database, "acme", ticket) == "INC0000010"
    assert await number_for_vendor_ticket(any_store.database, "globex", ticket) is None


# --- exactly one ticket, with Temporal's retries on the time-skipping server ---------------


@workflow.defn(sandboxed=False)
class OpenVendorTicket:
    @workflow.run
    async def run(self, request: VendorTicketRequest) -> VendorTicketResult:
        result: VendorTicketResult = await workflow.execute_activity(
            "create_vendor_ticket",
            request,
            result_type=VendorTicketResult,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
        )
        return result


async def test_one_ticket_when_the_first_call_times_out_after_the_vendor_opened_it(
    time_env: WorkflowEnvironment, stub: HttpStub, http: httpx.AsyncClient, store: RecordStore
) -> None:
    activities = VendorActivities(vendor_policy(stub.url, timeout="0.5s"), http, store)
    stub.stall_after_create(10)  # the vendor opens the ticket, then answers too late
    request = ticket_request(number="INC0000777")
    queue = f"vendors-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[OpenVendorTicket],
        activities=[activities.create_vendor_ticket],
    ):
        result = await time_env.client.execute_workflow(
            OpenVendorTicket.run, request, id=f"vendor-{uuid.uuid4()}", task_queue=queue
        )

    assert len(stub.tickets) == 1 and result.ticket_id == "VT-0001"
    assert len(stub.requests) == 2  # the timed-out call and its retry
    assert {seen.key for seen in stub.requests} == {request.key}
    assert await number_for_vendor_ticket(store.database, "acme", "VT-0001") == "INC0000777"


# --- the webhook, over HTTP with a real API, worker and dev server -------------------------


@pytest_asyncio.fixture
async def vendor_stack(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    task_queue: str,
    records_url: str,
    stub: HttpStub,
    http: httpx.AsyncClient,
) -> AsyncIterator[Stack]:
    """tests.support.apistack's stack, with the stub vendor in the policy of both API and worker."""
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(f'[vendors.acme]\nurl = "{stub.url}"\ntoken = "acme-token"\n')
    address = dev_env.client.service_client.config.target_host
    settings = stack_settings(
        tmp_path, address, task_queue, database_url=records_url, policy_file=policy_file
    )
    store = RecordStore(settings.resolved_database_url)
    await store.database.migrate()
    worker = build_worker(dev_env.client, task_queue, store, load_policy(settings), http)
    async with worker, serve_api(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Stack(client, settings, store)
    await store.dispose()


async def test_a_vendor_resolving_its_ticket_resumes_the_incident(
    vendor_stack: Stack, stub: HttpStub, caller: str
) -> None:
    stack = vendor_stack
    body = {"short_description": "Branch office offline", "caller": caller}
    number = (await stack.ok("POST", "/incidents", status=201, json=body))["number"]
    await stack.ok(
        "POST", f"/incidents/{number}/assign", json={"group": "network-l1", "assignee": "sam"}
    )
    await stack.ok("POST", f"/incidents/{number}/start", json={})
    await stack.ok(
        "POST",
        f"/incidents/{number}/vendor-tickets",
        json={"vendor": "acme", "summary": "Router in rack 4 reboots"},
    )
    pend = {"reason": "awaiting_vendor", "note": "Acme is replacing the router"}
    await stack.ok("POST", f"/incidents/{number}/pend", json=pend)

    async def incident() -> dict[str, Any]:
        view: dict[str, Any] = await stack.ok("GET", f"/incidents/{number}")
        return view

    opened = await eventually(
        incident, lambda view: any(t["ticket_id"] for t in view["vendor_tickets"])
    )
    assert opened["vendor_tickets"][0]["ticket_id"] == "VT-0001"
    assert [seen.json["reference"] for seen in stub.requests] == [number]

    update = {"ticket_id": "VT-0001", "status": "resolved", "comment": "Router replaced"}
    accepted = await stack.ok(
        "POST", "/vendors/acme/webhook", "monitoring", status=202, json=update
    )
    assert accepted == {"incident": number}

    resumed = await eventually(incident, lambda view: view["status"] == "in_progress")
    assert resumed["status"] == "in_progress"
    assert resumed["vendor_tickets"][0]["status"] == "resolved"
    assert resumed["vendor_tickets"][0]["last_comment"] == "Router replaced"
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    (entry,) = [entry for entry in timeline if entry["kind"] == "vendor_update"]
    assert entry["details"]["comment"] == "Router replaced" and entry["actor"] == "acme"


async def test_the_vendor_webhook_refuses_what_it_cannot_place(
    vendor_stack: Stack, caller: str
) -> None:
    stack = vendor_stack
    update = {"ticket_id": "ACME-1", "status": "resolved"}
    unknown_vendor = await stack.call("POST", "/vendors/globex/webhook", "monitoring", json=update)
    assert unknown_vendor.status_code == 404 and "globex" in unknown_vendor.json()["error"]
    unknown_ticket = await stack.call("POST", "/vendors/acme/webhook", "monitoring", json=update)
    assert unknown_ticket.status_code == 404 and "ACME-1" in unknown_ticket.json()["error"]
    for who in ("alice", "sam"):
        forbidden = await stack.call("POST", "/vendors/acme/webhook", who, json=update)
        assert forbidden.status_code == 403
    missing = await stack.call(
        "POST", "/vendors/acme/webhook", "monitoring", json={"ticket_id": "ACME-1"}
    )
    assert missing.status_code == 422 and missing.json()["problems"][0]["field"] == "status"

    incident = await stack.ok(
        "POST", "/incidents", status=201, json={"short_description": "Fax down", "caller": caller}
    )
    number = incident["number"]
    await link_vendor_ticket(stack.store.database, "acme", "ACME-2", number)
    await stack.ok("POST", f"/incidents/{number}/cancel", json={"reason": "Not needed"})

    async def send() -> httpx.Response:
        return await stack.call(
            "POST",
            "/vendors/acme/webhook",
            "monitoring",
            json={"ticket_id": "ACME-2", "status": "resolved"},
        )

    ended = await eventually(send, lambda response: response.status_code != 202)
    assert ended.status_code == 409 and number in ended.json()["error"]
