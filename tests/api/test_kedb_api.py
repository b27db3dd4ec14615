"""/known-errors and /problems over HTTP: a real API and worker on the Temporal dev server."""

from __future__ import annotations

from typing import Any

from domain.kedb import ProblemProposal
from domain.models import ResolutionCode
from recordstore.problems import ProblemStore
from tests.support.apistack import Stack, eventually
from tests.support.kedb_corpus import CORPUS


def body_of(key: str, **changes: Any) -> dict[str, Any]:
    return CORPUS[key].model_dump(exclude_none=True) | changes


async def test_known_error_crud(stack: Stack) -> None:
    response = await stack.call("POST", "/known-errors", json=body_of("print-spooler"))
    assert response.status_code == 201, response.text
    created = response.json()
    ke_id = created["id"]
    assert response.headers["location"] == f"/known-errors/{ke_id}"
    assert created["title"] == CORPUS["print-spooler"].title and created["status"] == "published"
    assert created["source_incident"] is None

    assert await stack.ok("GET", f"/known-errors/{ke_id}", "morgan") == created
    listed = await stack.ok("GET", "/known-errors?limit=200")
    assert ke_id in [item["id"] for item in listed["items"]]

    replacement = {"title": "Print queue stuck", "symptoms": "Jobs wait in the queue"}
    replaced = await stack.ok("PUT", f"/known-errors/{ke_id}", json=replacement)
    assert replaced["title"] == "Print queue stuck" and replaced["workaround"] is None
    assert replaced["created_at"] == created["created_at"]

    retired = await stack.ok(
        "PUT", f"/known-errors/{ke_id}", json=replacement | {"status": "retired"}
    )
    assert retired["status"] == "retired"
    only_retired = await stack.ok("GET", "/known-errors?status=retired")
    assert ke_id in [item["id"] for item in only_retired["items"]]

    deleted = await stack.call("DELETE", f"/known-errors/{ke_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    for method in ("GET", "DELETE"):
        gone = await stack.call(method, f"/known-errors/{ke_id}")
        assert gone.status_code == 404 and ke_id in gone.json()["error"]
    put_gone = await stack.call("PUT", f"/known-errors/{ke_id}", json=replacement)
    assert put_gone.status_code == 404


async def test_bad_known_error_input_names_the_field(stack: Stack) -> None:
    cases: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("POST", "/known-errors", {"symptoms": "no title"}, "title"),
        ("POST", "/known-errors", body_of("print-spooler", colour="red"), "colour"),
        ("POST", "/known-errors", body_of("print-spooler", status="live"), "status"),
        ("POST", "/known-errors", body_of("print-spooler", title="x" * 201), "title"),
        ("POST", "/known-errors", None, "title"),
        ("PUT", "/known-errors/KE0000001", {"title": "t"}, "symptoms"),
        ("GET", "/known-errors/not-an-id", None, "id"),
        ("GET", "/known-errors?cursor=bogus", None, "cursor"),
        ("GET", "/known-errors/search", None, "q"),
        ("GET", "/known-errors/search?q=vpn&limit=0", None, "limit"),
        ("POST", "/known-errors?from_incident=INC42", {}, "from_incident"),
        ("POST", "/known-errors?from_incident=INC0000001", {"colour": "red"}, "colour"),
    ]
    for method, path, body, field in cases:
        response = await stack.call(method, path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["problems"][0]["field"] == field, (path, response.text)
    for raw in (b"{not json", b'["a list"]'):
        response = await stack.call(
            "POST", "/known-errors", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422 and response.json()["problems"][0]["field"] == "body"
    nul = await stack.call("POST", "/known-errors", json=body_of("print-spooler", title="a\x00b"))
    assert nul.status_code == 422 and nul.json()["problems"][0]["field"] == "title"


async def test_search_ranks_and_survives_hostile_text(stack: Stack) -> None:
    ids = {}
    for key in ("vpn-idle-drop", "vpn-cert-expired", "vpn-split-dns", "vpn-old-client"):
        ids[key] = (await stack.ok("POST", "/known-errors", status=201, json=body_of(key)))["id"]
    matches = await stack.ok(
        "GET",
        "/known-errors/search",
        params={"q": "GlobalProtect VPN keeps dropping at home every few minutes", "limit": 50},
    )
    found = [match["id"] for match in matches]
    assert found[0] == ids["vpn-idle-drop"] and ids["vpn-old-client"] not in found
    assert all(match["score"] > 0 for match in matches)
    assert [m["score"] for m in matches] == sorted((m["score"] for m in matches), reverse=True)
    assert matches[0]["workaround"] == CORPUS["vpn-idle-drop"].workaround

    for hostile in ['"vpn', "NEAR(vpn", "vpn*", "(((", "AND OR", "🙂 ünï", "'; drop table x"]:
        response = await stack.call("GET", "/known-errors/search", params={"q": hostile})
        assert response.status_code == 200, (hostile, response.text)


async def test_roles(stack: Stack) -> None:
    paths = [
        ("GET", "/known-errors"),
        ("POST", "/known-errors"),
        ("GET", "/known-errors/search?q=vpn"),
        ("GET", "/known-errors/KE0000001"),
        ("PUT", "/known-errors/KE0000001"),
        ("DELETE", "/known-errors/KE0000001"),
        ("GET", "/problems"),
        ("GET", "/problems/PRB0000001"),
    ]
    body = body_of("print-garbage")
    for method, path in paths:
        json = body if method in ("POST", "PUT") else None
        for who in ("alice", "monitoring"):
            forbidden = await stack.call(method, path, who, json=json)
            assert forbidden.status_code == 403, (who, path, forbidden.text)
        anonymous = await stack.http.request(method, path, json=json)
        assert anonymous.status_code == 401, (path, anonymous.text)
        bad_token = await stack.http.request(
            method, path, json=json, headers={"Authorization": "Bearer not-a-real-token-at-all"}
        )
        assert bad_token.status_code == 401, path
    for who in ("sam", "morgan", "root"):
        await stack.ok("GET", "/known-errors", who)
        await stack.ok("GET", "/problems", who)
        await stack.ok("POST", "/known-errors", who, status=201, json=body)


async def resolved_incident(stack: Stack, caller: str, **resolution: Any) -> dict[str, Any]:
    incident = await stack.ok(
        "POST",
        "/incidents",
        status=201,
        json={
            "short_description": "Payroll export rejected by the bank",
            "description": "Bank portal says: invalid execution date format in the SEPA file",
            "caller": caller,
            "category": "application",
            "service": "payroll",
        },
    )
    number = incident["number"]
    await stack.ok("POST", f"/incidents/{number}/assign", json={"group": "apps", "assignee": "sam"})
    await stack.ok("POST", f"/incidents/{number}/start", json={})
    resolve = {
        "resolution_code": "fixed",
        "resolution_notes": "Regenerated the file with ISO dates",
    }
    resolved: dict[str, Any] = await stack.ok(
        "POST", f"/incidents/{number}/resolve", json=resolve | resolution
    )
    assert resolved["status"] == "resolved"
    return resolved


async def test_a_resolved_incident_becomes_a_known_error(stack: Stack, caller: str) -> None:
    incident = await resolved_incident(stack, caller)
    number = incident["number"]

    # Straight after the resolve: the record may still lag the workflow by a moment.
    created = await stack.ok("POST", f"/known-errors?from_incident={number}", status=201)
    assert created["source_incident"] == number
    assert created["title"] == "Payroll export rejected by the bank"
    assert "invalid execution date format" in created["symptoms"]
    assert "Payroll export rejected" in created["symptoms"]
    assert created["workaround"] == "Regenerated the file with ISO dates"
    assert created["root_cause"] == "Regenerated the file with ISO dates"  # code fixed
    assert created["category"] == "application" and created["service"] == "payroll"
    assert created["status"] == "published"

    again = await stack.call("POST", f"/known-errors?from_incident={number}", json={})
    assert again.status_code == 409 and again.json()["known_error_id"] == created["id"]

    # It is searchable at once, in other words than the incident's.
    matches = await stack.ok("GET", "/known-errors/search", params={"q": "bank rejected payroll"})
    assert created["id"] in [match["id"] for match in matches]


async def test_from_incident_with_overrides_and_a_workaround(stack: Stack, caller: str) -> None:
    incident = await resolved_incident(
        stack, caller, resolution_code="workaround", resolution_notes="Upload the file by hand"
    )
    overrides = {
        "title": "Bank rejects SEPA dates",
        "root_cause": "Bank schema v9",
        "status": "draft",
    }
    created = await stack.ok(
        "POST",
        "/known-errors",
        status=201,
        params={"from_incident": incident["number"]},
        json=overrides,
    )
    assert created["title"] == "Bank rejects SEPA dates" and created["status"] == "draft"
    assert created["root_cause"] == "Bank schema v9"
    assert created["workaround"] == "Upload the file by hand"


async def test_only_resolved_or_closed_incidents_become_known_errors(
    stack: Stack, caller: str
) -> None:
    incident = await stack.ok(
        "POST", "/incidents", status=201, json={"short_description": "Mail down", "caller": caller}
    )
    open_one = await stack.call("POST", f"/known-errors?from_incident={incident['number']}")
    assert open_one.status_code == 409
    assert open_one.json()["state"] == "new" and "new" in open_one.json()["error"]

    unknown = await stack.call("POST", "/known-errors?from_incident=INC9999999")
    assert unknown.status_code == 404 and "INC9999999" in unknown.json()["error"]


async def test_problems_are_listed_and_read(stack: Stack) -> None:
    proposal = ProblemProposal(
        number="INC9000001",
        short_description="VPN drops every few minutes",
        category="network",
        service="vpn",
        resolution_code=ResolutionCode.WORKAROUND,
        resolution_notes="Client switched to SSL only",
        reason="workaround",
    )
    problem = await ProblemStore(stack.store.database).propose(proposal)
    read = await stack.ok("GET", f"/problems/{problem.id}", "morgan")
    assert read["number"] == "INC9000001" and read["status"] == "proposed"
    assert read["reason"] == "workaround" and read["title"] == "VPN drops every few minutes"
    listed = await stack.ok("GET", "/problems?limit=200")
    assert problem.id in [item["id"] for item in listed["items"]]

    missing = await stack.call("GET", "/problems/PRB9999999")
    assert missing.status_code == 404
    bad = await stack.call("GET", "/problems/42")
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "id"


async def test_resolving_with_a_workaround_proposes_one_problem(stack: Stack, caller: str) -> None:
    incident = await resolved_incident(
        stack, caller, resolution_code="workaround", resolution_notes="Upload the file by hand"
    )
    number = incident["number"]

    async def problems_of_incident() -> list[dict[str, Any]]:
        page = await stack.ok("GET", "/problems?limit=200")
        return [item for item in page["items"] if item["number"] == number]

    found = await eventually(problems_of_incident, lambda items: len(items) == 1)
    assert len(found) == 1 and found[0]["reason"] == "workaround"
    view = await eventually(
        lambda: stack.ok("GET", f"/incidents/{number}"), lambda v: v["problem_id"] is not None
    )
    assert view["problem_id"] == found[0]["id"]
