"""GET /reports/summary over HTTP: roles, JSON and CSV with the same figures, bad windows."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from domain import lifecycle
from domain.models import (
    Action,
    AssignRequest,
    CloseRequest,
    IncidentCreate,
    IncidentRecord,
    PendRequest,
    ResolutionCode,
    ResolveRequest,
    ResumeRequest,
    StartRequest,
)
from domain.policy import MajorPolicy, Policy
from recordstore.reports import ReportQuery, SummaryReport, summary
from tests.support.apistack import Stack, eventually

T0 = datetime(2020, 3, 2, 8, 0, tzinfo=UTC)  # long before any incident the session creates
POLICY = Policy(major=MajorPolicy(priorities=()))


async def store_incidents(stack: Stack, group: str) -> None:
    """Four incidents of `group` in the first week of March 2020, straight into the records.
    Numbers from INC8000000 up stay clear of the ones the session's API hands out."""
    first = 8_000_000 + uuid.uuid4().int % 900_000
    minute = timedelta(minutes=1)
    for offset, (impact, steps) in enumerate(
        [
            (2, [(10, "start"), (70, "resolve"), (90, "close")]),
            (2, [(30, "start"), (40, "pend"), (220, "resume"), (300, "resolve")]),
            (3, [(600, "start")]),
            (1, []),
        ]
    ):
        created = T0 + offset * 60 * minute
        create = IncidentCreate(short_description="report", impact=impact, urgency=2)
        caller = f"{group}-caller"  # nobody else's list shows these records
        state = lifecycle.open_incident(
            f"INC{first + offset:07d}", create, caller, caller, POLICY, created
        )
        lifecycle.apply(state, Action.ASSIGN, AssignRequest(group=group, assignee="sam"), created)
        for minutes, action in steps:
            request = {
                "start": StartRequest(),
                "pend": PendRequest(reason="awaiting_vendor", note="waiting for the vendor"),
                "resume": ResumeRequest(),
                "resolve": ResolveRequest(
                    resolution_code=ResolutionCode.FIXED, resolution_notes="fixed"
                ),
                "close": CloseRequest(),
            }[action]
            lifecycle.apply(state, Action(action), request, created + minutes * minute)
        view = lifecycle.view(state)
        await stack.store.upsert_incident(
            IncidentRecord(view=view, timeline_start=0, new_entries=[])
        )


def parse_csv(text: str) -> list[tuple[str, str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["metric", "dimension", "value"]
    return [(metric, dimension, value) for metric, dimension, value in rows[1:]]


def as_csv_value(value: Any) -> str:
    return "" if value is None else str(value)


async def test_managers_get_the_summary_as_json_and_csv(stack: Stack) -> None:
    group = f"reports-{uuid.uuid4().hex[:8]}"
    await store_incidents(stack, group)
    params = {"from": "2020-03-02", "to": "2020-03-08", "group": group}

    body = await stack.ok("GET", "/reports/summary", "morgan", params=params)
    expected = await summary(stack.store.database, ReportQuery.model_validate(params))
    assert body == expected.model_dump(mode="json")
    assert body["window"]["from"] == "2020-03-02T00:00:00Z"
    assert body["window"]["to"] == "2020-03-09T00:00:00Z"
    assert body["counts"]["created"] == 4
    assert body["counts"]["by_status"]["closed"] == 1
    assert body["counts"]["by_group"] == {group: 4}
    assert body["mtta"] == {
        "count": 3,
        "mean_seconds": 12_800.0,
        "median_seconds": 1_800.0,
        "mean_text": "3:33",
        "median_text": "0:30",
    }
    # 2 resolved: 70 min; 300 min minus 180 min awaiting the vendor.
    assert body["mttr"]["mean_seconds"] == (70 + 120) / 2 * 60
    assert body["mttr_with_pauses"]["mean_seconds"] == (70 + 300) / 2 * 60
    assert (body["mttr"]["mean_text"], body["mttr_with_pauses"]["mean_text"]) == ("1:35", "3:05")
    assert body["first_contact_resolution"] == {"count": 2, "total": 2, "rate": 1.0}
    # Open at the window's end, Monday 9 March 00:00: the last two, created 6.5 days earlier.
    assert body["backlog"]["by_age"] == {"<1d": 0, "1-3d": 0, "3-7d": 2, "7-30d": 0, ">30d": 0}

    response = await stack.call(
        "GET", "/reports/summary", "morgan", params=params | {"format": "csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = parse_csv(response.text)
    report = SummaryReport.model_validate(body)
    assert rows == [
        (metric, dimension, as_csv_value(value)) for metric, dimension, value in report.rows()
    ]
    named = {(metric, dimension): value for metric, dimension, value in rows}
    assert named[("created", "all")] == "4"
    assert float(named[("mttr_seconds", "mean")]) == body["mttr"]["mean_seconds"]
    assert named[("created_by_group", group)] == "4"
    assert named[("backlog", "3-7d")] == "2"

    admin = await stack.ok("GET", "/reports/summary", "root", params=params)
    assert admin == body


async def test_the_summary_counts_incidents_made_through_the_api(stack: Stack) -> None:
    group = "reports-live"  # a directory group no other test uses (tests/support/directory.toml)
    created = await stack.ok(
        "POST", "/incidents", status=201, json={"short_description": "VPN down", "caller": "alice"}
    )
    await stack.ok("POST", f"/incidents/{created['number']}/assign", json={"group": group})
    today = datetime.now(UTC).date()
    params = {"from": str(today - timedelta(days=1)), "to": str(today), "group": group}

    async def report() -> dict[str, Any]:
        result: dict[str, Any] = await stack.ok("GET", "/reports/summary", "morgan", params=params)
        return result

    body = await eventually(report, lambda body: body["counts"]["created"] == 1)
    assert body["counts"]["by_status"]["assigned"] == 1
    assert body["backlog"]["by_age"]["<1d"] == 1


async def test_without_a_window_the_last_30_days_up_to_now(stack: Stack) -> None:
    before = datetime.now(UTC)
    body = await stack.ok("GET", "/reports/summary", "morgan")
    after = datetime.now(UTC)
    start = datetime.fromisoformat(body["window"]["from"])
    end = datetime.fromisoformat(body["window"]["to"])
    assert before <= end <= after and end - start == timedelta(days=30)
    # The backlog is measured now: not at a future `to`, where every incident would look older.
    assert before <= datetime.fromisoformat(body["backlog"]["as_of"]) <= after
    assert set(body["closed"]) == {"confirmed", "auto", "closed_by_agent", "no_response"}

    only_to = await stack.ok("GET", "/reports/summary", "morgan", params={"to": "2020-03-08"})
    assert only_to["window"] == {
        "from": "2020-02-08T00:00:00Z",
        "to": "2020-03-09T00:00:00Z",
        "group": None,
        "priority": None,
    }
    only_from = await stack.ok("GET", "/reports/summary", "morgan", params={"from": "2020-03-02"})
    assert only_from["window"]["from"] == "2020-03-02T00:00:00Z"
    assert before <= datetime.fromisoformat(only_from["window"]["to"]) <= datetime.now(UTC)

    ahead = (datetime.now(UTC) + timedelta(days=10)).date()
    future = await stack.ok("GET", "/reports/summary", "morgan", params={"to": str(ahead)})
    assert datetime.fromisoformat(future["backlog"]["as_of"]) <= datetime.now(UTC)


async def test_only_managers_and_admins_see_reports(stack: Stack) -> None:
    params = {"from": "2020-03-02", "to": "2020-03-08"}
    for who in ("sam", "alice"):
        refused = await stack.call("GET", "/reports/summary", who, params=params)
        assert refused.status_code == 403, who
        assert "manager" in refused.json()["error"]
    anonymous = await stack.http.get("/reports/summary", params=params)
    assert anonymous.status_code == 401


async def test_a_bad_window_names_the_field(stack: Stack) -> None:
    async def problem(params: dict[str, str]) -> tuple[int, str]:
        response = await stack.call("GET", "/reports/summary", "morgan", params=params)
        return response.status_code, response.json()["problems"][0]["field"]

    assert await problem({"from": "last tuesday", "to": "2020-03-08"}) == (422, "from")
    assert await problem({"from": "2020-03-02", "to": "2020-02-30"}) == (422, "to")
    assert await problem({"from": "2020-03-10", "to": "2020-03-08"}) == (422, "to")
    assert await problem({"from": "2020-03-02", "to": "9999-12-31"}) == (422, "to")
    one_day = {"from": "2020-03-08", "to": "2020-03-08"}
    assert (await stack.call("GET", "/reports/summary", "morgan", params=one_day)).is_success
    assert await problem({"from": "2020-03-02", "to": "2020-03-08", "priority": "P9"}) == (
        422,
        "priority",
    )
    assert await problem({"from": "2020-03-02", "to": "2020-03-08", "format": "xml"}) == (
        422,
        "format",
    )
