"""Access over real HTTP: every endpoint the API documents x every role, requesters' isolation,
and tokens (compared in constant time, never logged).

The endpoints come from the running API's OpenAPI, so a new one is covered the moment it exists:
it must require a token (or be listed as public) and have a row in ALLOWED.
"""

from __future__ import annotations

import hmac
import io
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from api import permissions
from api.auth import Principal, Role, TokenBook, TokenFileError
from core.logconfig import configure_logging
from core.settings import PROJECT_DIR
from tests.support.apistack import TOKENS, Stack

ROLES = ["alice", "sam", "morgan", "monitoring", "root"]
EVERYONE = frozenset(ROLES)
WORKERS = frozenset({"sam", "morgan", "monitoring", "root"})  # agent, manager, automation, admin
KEDB = frozenset({"sam", "morgan", "root"})  # agent, manager, admin
MANAGERS = frozenset({"morgan", "root"})
AUTOMATION = frozenset({"monitoring", "root"})
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
# Authenticated by an integration key in the body (PagerDuty's routing_key), not a bearer token.
KEYED = {("POST", "/v2/enqueue")}

# Who gets past the role check (CONTRACT section 7). Requesters act on their own incidents only;
# the incident used here is alice's. A survey is answered by the incident's caller alone.
ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/incidents"): EVERYONE,
    ("GET", "/incidents"): EVERYONE,
    ("GET", "/incidents/similar"): WORKERS,
    ("GET", "/queues/mine"): KEDB,
    ("GET", "/queues/groups/{group}"): KEDB,
    ("GET", "/incidents/{number}"): EVERYONE,
    ("GET", "/incidents/{number}/timeline"): EVERYONE,
    ("GET", "/incidents/{number}/details/{digest}"): EVERYONE,
    ("POST", "/incidents/{number}/attachments"): EVERYONE,
    ("GET", "/incidents/{number}/attachments"): EVERYONE,
    ("GET", "/incidents/{number}/attachments/{id}"): EVERYONE,
    ("POST", "/incidents/{number}/survey"): frozenset({"alice"}),
    ("PATCH", "/incidents/{number}"): WORKERS,
    ("POST", "/incidents/{number}/assign"): WORKERS,
    ("POST", "/incidents/{number}/start"): WORKERS,
    ("POST", "/incidents/{number}/pend"): WORKERS,
    ("POST", "/incidents/{number}/resume"): WORKERS,
    ("POST", "/incidents/{number}/resolve"): WORKERS,
    ("POST", "/incidents/{number}/reopen"): EVERYONE,
    ("POST", "/incidents/{number}/close"): EVERYONE,
    ("POST", "/incidents/{number}/cancel"): EVERYONE,
    ("POST", "/incidents/{number}/comment"): EVERYONE,
    ("POST", "/incidents/{number}/escalate"): WORKERS,
    ("POST", "/incidents/{number}/declare-major"): WORKERS,
    ("POST", "/incidents/{number}/link-parent"): WORKERS,
    ("POST", "/incidents/{number}/review"): MANAGERS,
    ("POST", "/incidents/{number}/vendor-tickets"): WORKERS,
    ("POST", "/incidents/{number}/undeclare-major"): MANAGERS,
    ("POST", "/incidents/{number}/status-update"): WORKERS,
    ("POST", "/incidents/{number}/return"): KEDB,  # agents (of the group) and managers
    ("POST", "/incidents/{number}/affected"): WORKERS,
    ("POST", "/incidents/{number}/complete-step"): WORKERS,
    ("POST", "/incidents/{number}/skip-step"): WORKERS,
    ("POST", "/alerts"): AUTOMATION,
    ("POST", "/integrations/alertmanager"): AUTOMATION,
    ("POST", "/vendors/{vendor}/webhook"): AUTOMATION,
    ("GET", "/known-errors"): KEDB,
    ("POST", "/known-errors"): KEDB,
    ("GET", "/known-errors/search"): KEDB,
    ("GET", "/known-errors/{id}"): KEDB,
    ("PUT", "/known-errors/{id}"): KEDB,
    ("DELETE", "/known-errors/{id}"): KEDB,
    ("GET", "/problems"): KEDB,
    ("GET", "/problems/{id}"): KEDB,
    ("GET", "/cis"): KEDB,
    ("GET", "/cis/{id}"): KEDB,
    ("GET", "/reports/summary"): MANAGERS,
    ("GET", "/reply-templates"): KEDB,
    ("GET", "/reply-templates/{name}"): KEDB,
}

# Values the schema alone cannot make valid.
QUERY_VALUES = {"from": "2026-01-01", "to": "2026-02-01", "q": "printer"}
BODY_VALUES: dict[str, Any] = {"parent": None, "vendor": "acme", "severity": "error"}


# --- requests built from the OpenAPI document ---------------------------------------------


class Api:
    """The running API's operations, and a minimal valid request for each."""

    def __init__(self, spec: dict[str, Any], path_values: dict[str, str]) -> None:
        self.spec, self.path_values = spec, path_values

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for path, item in self.spec["paths"].items():
            for method, operation in item.items():
                yield method.upper(), path, operation

    def request(self, method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
        url = path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                url = url.replace(f"{{{parameter['name']}}}", self.path_value(parameter))
        query = {
            parameter["name"]: QUERY_VALUES.get(parameter["name"], "x")
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "query" and parameter.get("required")
        }
        request: dict[str, Any] = {"method": method, "url": url, "params": query}
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            request["json"] = self.example(body["schema"])
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
            request["files"] = {"file": ("note.txt", b"a small file", "text/plain")}
        return request

    def path_value(self, parameter: dict[str, Any]) -> str:
        """Ours when it fits the parameter's pattern (an incident, a known error), else the
        schema's own example (a problem that does not exist: 404 is past the role check)."""
        schema = parameter["schema"]
        ours = self.path_values.get(parameter["name"])
        if ours is not None and re.search(schema.get("pattern", ""), ours):
            return ours
        return str((schema.get("examples") or ["x"])[0])

    def example(self, schema: dict[str, Any], name: str = "") -> Any:
        """The smallest value the schema accepts: required properties only."""
        if "$ref" in schema:
            return self.example(self.resolve(schema["$ref"]), name)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self.example(schema[key][0], name)
        if name in BODY_VALUES:
            return BODY_VALUES[name]
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type", "object")
        if kind == "object":
            return {
                prop: self.example(schema["properties"][prop], prop)
                for prop in schema.get("required", [])
            }
        if kind == "array":
            return [self.example(schema["items"]) for _ in range(schema.get("minItems", 0))]
        if kind == "integer":  # FastAPI's document spells the bound 1.0: numbers are strict
            return int(schema.get("minimum", 1))
        if kind == "number":
            return schema.get("minimum", 1)
        if kind == "boolean":
            return False
        return (schema.get("examples") or ["x"])[0]

    def resolve(self, ref: str) -> dict[str, Any]:
        found: dict[str, Any] = self.spec
        for part in ref.removeprefix("#/").split("/"):
            found = found[part]
        return found


async def api_for(stack: Stack, caller: str = "alice") -> Api:
    """Alice's incident (the one requesters act on), an open parent, a known error."""
    incident = await stack.ok(
        "POST", "/incidents", "sam", status=201, json={"short_description": "x", "caller": caller}
    )
    parent = await stack.ok(
        "POST", "/incidents", "sam", status=201, json={"short_description": "parent"}
    )
    known_error = await stack.ok(
        "POST", "/known-errors", "sam", status=201, json={"title": "t", "symptoms": "s"}
    )
    BODY_VALUES["parent"] = parent["number"]
    BODY_VALUES["dedup_key"] = f"access-{uuid.uuid4()}"  # an alert router of this test's own
    spec = (await stack.http.get("/openapi.json")).json()
    values = {
        "number": incident["number"],
        "id": known_error["id"],
        "vendor": "acme",
        "group": "service-desk",
    }
    return Api(spec, values)


async def as_(stack: Stack, who: str, request: dict[str, Any]) -> httpx.Response:
    return await stack.http.request(**request, headers=stack.as_(who))


# --- every endpoint x every role ----------------------------------------------------------


async def test_every_endpoint_has_an_access_rule(stack: Stack) -> None:
    api = await api_for(stack)
    documented = {(method, path) for method, path, _ in api.operations()}
    secured = {
        (method, path) for method, path, operation in api.operations() if operation.get("security")
    }
    assert documented - secured == PUBLIC | KEYED, "an endpoint without a bearer token requirement"
    assert secured == set(ALLOWED), "each endpoint needs a row in ALLOWED"
    assert documented == set(permissions.TABLE), "each endpoint needs a row in api/permissions.py"
    assert {endpoint for endpoint, rule in permissions.TABLE.items() if rule.public} == PUBLIC


def test_the_readme_endpoint_table_is_the_permissions_table() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme.split("### Endpoints and roles\n", 1)[1]
    table = re.search(r"^\|.*?\n(?!\|)", section, re.S | re.M)
    assert table is not None, "README: no table under 'Endpoints and roles'"
    assert table.group(0) == permissions.markdown(), "run: python -m api.permissions"


def test_the_readme_actions_table_is_the_permissions_table() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme.split("### Roles and actions\n", 1)[1]
    table = re.search(r"^\|.*?\n(?!\|)", section, re.S | re.M)
    assert table is not None, "README: no table under 'Roles and actions'"
    assert table.group(0) == permissions.actions_markdown(), "python -m api.permissions actions"


async def test_no_token_or_a_bad_token_is_401_everywhere(stack: Stack) -> None:
    api = await api_for(stack)
    valid = TOKENS["root"][1]
    bad_headers: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer not-a-token-of-anyone"},
        {"Authorization": f"Bearer {valid}x"},
        {"Authorization": f"Bearer {valid[:-1]}"},
        {"Authorization": f"Bearer {valid.upper()}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {valid}"},
        {"Authorization": valid},
        {"Authorization": f"Bearer {'x' * 5000}"},
        {"Authorization": "Bearer ålice-tøken".encode("latin-1")},  # type: ignore[dict-item]
    ]
    tried = 0
    for method, path, operation in api.operations():
        if (method, path) in PUBLIC | KEYED:
            continue
        for headers in bad_headers:
            response = await stack.http.request(
                **api.request(method, path, operation), headers=headers
            )
            assert response.status_code == 401, (method, path, headers, response.text)
            assert "bearer token" in response.json()["error"]
            tried += 1
    assert tried == len(ALLOWED) * len(bad_headers)


@pytest.mark.parametrize("who", ROLES)
async def test_each_role_gets_exactly_what_it_is_allowed(stack: Stack, who: str) -> None:
    api = await api_for(stack)
    for method, path, operation in api.operations():
        if (method, path) in PUBLIC | KEYED:
            continue
        response = await as_(stack, who, api.request(method, path, operation))
        if who in ALLOWED[(method, path)]:
            assert response.status_code not in (401, 403), (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["error"], (method, path)


# The group-membership dimension (contract 7): on an incident of network-l2, dana (an agent of
# it) gets past the access checks, sam (an agent of other groups) only reads; managers,
# automation and admins work every group's incidents.
IN_THE_GROUP = {"dana", "morgan", "monitoring", "root"}


@pytest.mark.parametrize("who", ["dana", "sam", "morgan"])
async def test_agents_work_only_their_groups_incidents(stack: Stack, who: str) -> None:
    api = await api_for(stack)
    number = api.path_values["number"]
    await stack.ok("POST", f"/incidents/{number}/assign", json={"group": "network-l2"})
    view = await stack.ok("GET", f"/incidents/{number}", who)
    works = who in IN_THE_GROUP
    assert ("start" in view["allowed_actions"]) == works, view["allowed_actions"]
    tried = 0
    for method, path, operation in api.operations():
        if not path.startswith("/incidents/{number}") or path.endswith("/survey"):
            continue
        response = await as_(stack, who, api.request(method, path, operation))
        allowed = {"dana": "sam"}.get(who, who) in ALLOWED[(method, path)]  # dana: an agent
        any_group = path.endswith("/affected")  # whoever takes the call adds a "me too"
        if method == "GET" or (allowed and (works or any_group)):
            assert response.status_code not in (401, 403), (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.text)
        tried += 1
    assert tried >= 18


async def test_allowed_actions_are_the_readers(stack: Stack) -> None:
    own = await stack.ok("POST", "/incidents", "alice", status=201, json={"short_description": "x"})
    path = f"/incidents/{own['number']}"
    assert set(own["allowed_actions"]) == {"cancel", "comment"}
    assert set((await stack.ok("GET", path, "alice"))["allowed_actions"]) == {"cancel", "comment"}
    agents = (await stack.ok("GET", path, "sam"))["allowed_actions"]
    assert {"assign", "comment", "escalate"} <= set(agents) and "undeclare_major" not in agents
    assert "undeclare_major" in (await stack.ok("GET", path, "morgan"))["allowed_actions"]


@pytest.mark.parametrize("who", ROLES)
async def test_a_bearer_token_never_stands_in_for_an_integration_key(
    stack: Stack, who: str
) -> None:
    api = await api_for(stack)
    for method, path, operation in api.operations():
        if (method, path) in KEYED:
            response = await as_(stack, who, api.request(method, path, operation))
            assert response.status_code == 400, (method, path, response.text)
            assert response.json()["status"] == "invalid event"  # never 401/403, never 202


async def test_public_endpoints_need_no_token(stack: Stack) -> None:
    for _, path in PUBLIC:
        assert (await stack.http.get(path)).status_code == 200, path


# --- requesters -----------------------------------------------------------------------------


async def test_a_requester_never_reaches_another_callers_incident(stack: Stack) -> None:
    api = await api_for(stack, caller="alice")
    number = api.path_values["number"]
    await stack.ok(
        "POST",
        f"/incidents/{number}/comment",
        json={"text": "internal: blame the vendor", "visibility": "work_note"},
    )
    before = await stack.ok("GET", f"/incidents/{number}")

    assert (await stack.call("GET", f"/incidents/{number}", "bob")).status_code == 404
    assert (await stack.call("GET", f"/incidents/{number}/timeline", "bob")).status_code == 404
    assert (await stack.call("GET", "/incidents?caller=alice", "bob")).status_code == 403
    def bobs(items: list[dict[str, Any]]) -> bool:
        """Bob's own incidents, or ones he was counted as affected on (no caller named)."""
        return all(
            item["caller"] == "bob"
            or (item["caller"] == "another caller" and item["affected_callers"] == ["bob"])
            for item in items
        )

    listed = await stack.ok("GET", "/incidents?limit=200", "bob")
    assert bobs(listed["items"])
    for status in ("new", "assigned", "in_progress", "pending", "resolved", "closed"):
        filtered = await stack.ok("GET", f"/incidents?status={status}&limit=200", "bob")
        assert bobs(filtered["items"]), status

    changes = [
        (method, path, operation)
        for method, path, operation in api.operations()
        if path.startswith("/incidents/{number}") and method in ("POST", "PATCH", "PUT", "DELETE")
    ]
    assert len(changes) >= 16  # every action, the survey and PATCH
    for method, path, operation in changes:
        response = await as_(stack, "bob", api.request(method, path, operation))
        assert response.status_code in (403, 404), (method, path, response.text)
        assert "alice" not in response.text and "blame" not in response.text

    for path in (
        "/reports/summary?from=2026-01-01&to=2099-01-01",
        "/known-errors",
        "/known-errors/search?q=printer",
        "/problems",
        "/incidents/similar?q=printer",
        "/queues/mine",
        "/queues/groups/service-desk",
    ):
        assert (await stack.call("GET", path, "bob")).status_code == 403, path
    assert (
        await stack.call("POST", f"/known-errors?from_incident={number}", "bob", json={})
    ).status_code == 403

    after = await stack.ok("GET", f"/incidents/{number}")
    assert after["version"] == before["version"] and after["status"] == before["status"]


async def test_a_requester_never_sees_work_notes(stack: Stack) -> None:
    own = await stack.ok("POST", "/incidents", "alice", status=201, json={"short_description": "x"})
    path = f"/incidents/{own['number']}"
    note = {"text": "internal: caller is on the watch list", "visibility": "work_note"}
    assert (await stack.ok("POST", f"{path}/comment", json=note))["last_work_note"] == note["text"]

    assert (await stack.ok("GET", path, "alice"))["last_work_note"] is None
    assert (await stack.ok("GET", path, "sam"))["last_work_note"] == note["text"]
    listed = await stack.ok("GET", "/incidents?limit=200", "alice")
    assert all(item["last_work_note"] is None for item in listed["items"])
    commented = await stack.ok(
        "POST", f"{path}/comment", "alice", json={"text": "any news?", "visibility": "public"}
    )
    assert commented["last_work_note"] is None
    timeline = await stack.ok("GET", f"{path}/timeline", "alice")
    assert "watch list" not in str(timeline)


async def test_idempotency_keys_belong_to_their_caller(stack: Stack) -> None:
    # Issue 12 point 5: another principal's key is a 422 naming the key (it used to open a
    # second incident, and for a transition to be a silent no-op).
    body = {"short_description": "Same words, same key"}
    headers = {"Idempotency-Key": f"shared-{id(stack)}"}
    alices = await stack.ok("POST", "/incidents", "alice", status=201, json=body, headers=headers)
    assert alices["caller"] == "alice"
    bobs = await stack.call("POST", "/incidents", "bob", json=body, headers=headers)
    assert bobs.status_code == 422, bobs.text
    assert bobs.json()["problems"][0]["field"] == "Idempotency-Key"
    assert "another principal" in bobs.json()["error"]
    own = {"Idempotency-Key": f"bobs-own-{id(stack)}"}
    bobs = await stack.ok("POST", "/incidents", "bob", status=201, json=body, headers=own)
    assert bobs["number"] != alices["number"] and bobs["caller"] == "bob"


# --- tokens -----------------------------------------------------------------------------


def book(count: int) -> TokenBook:
    return TokenBook(
        [
            Principal(
                name=f"p{i}", roles=frozenset({Role.AGENT}), token=f"token-{i:02d}-" + "x" * 16
            )
            for i in range(count)
        ]
    )


def test_authenticate_compares_every_token_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(hmac, "compare_digest", counting)
    tokens = book(7)
    for token, expected in [
        ("token-00-" + "x" * 16, "p0"),
        ("token-06-" + "x" * 16, "p6"),
        ("token-03-" + "x" * 16, "p3"),
        ("nobody", None),
        ("", None),
    ]:
        compared.clear()
        found = tokens.authenticate(token)
        assert (found.name if found else None) == expected
        # No early exit: the first token costs as much as the last, or as none at all.
        assert len(compared) == 7, token
        assert {b for _, b in compared} == {token.encode()}


def test_a_tokens_file_with_a_shared_token_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens.toml"
    path.write_text(
        '[[principal]]\nname = "a"\nroles = ["agent"]\ntoken = "same-token-0123456789"\n'
        '[[principal]]\nname = "b"\nroles = ["admin"]\ntoken = "same-token-0123456789"\n'
    )
    with pytest.raises(TokenFileError, match="tokens.toml"):
        TokenBook.load(path)


@pytest.fixture
def api_log() -> Iterator[io.StringIO]:
    """Everything the API logs, rendered as in production (structlog through stdlib logging)."""
    root = logging.getLogger()
    saved_handlers, saved_level, saved_config = root.handlers[:], root.level, structlog.get_config()
    configure_logging("DEBUG", "json")
    structlog.configure(cache_logger_on_first_use=False)  # leave no logger bound to this set-up
    out = io.StringIO()
    capture = logging.StreamHandler(out)
    capture.setFormatter(root.handlers[0].formatter)
    root.addHandler(capture)
    yield out
    structlog.configure(**saved_config)
    root.handlers[:], root.level = saved_handlers, saved_level


# Workflow code logging through the production formatter imports some of structlog lazily.
@pytest.mark.filterwarnings("ignore:Module .* was imported after initial workflow load")
async def test_tokens_are_never_logged(stack: Stack, api_log: io.StringIO) -> None:
    api = await api_for(stack)
    presented = [token for _, token in TOKENS.values()]
    wrong = ["wrong-token-a1b2c3d4e5f6", TOKENS["sam"][1] + "-tampered"]
    for token in [*presented, *wrong]:
        headers = {"Authorization": f"Bearer {token}"}
        for method, path, operation in api.operations():
            await stack.http.request(**api.request(method, path, operation), headers=headers)
    logged = api_log.getvalue()
    assert '"status": 401' in logged and '"status": 200' in logged  # the capture worked
    for token in [*presented, *wrong]:
        assert token not in logged
        assert token[:12] not in logged
