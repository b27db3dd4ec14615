"""A lone UTF-16 surrogate in any string field of any route: a 422 naming the field, never a 500
(and never a record or a Temporal payload that cannot be encoded)."""

from __future__ import annotations

import json
from typing import Any

from tests.support.apistack import Stack

LONE = "\ud800"
TRIED: list[str] = []


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [resolve(option, spec) for option in schema[key]]
            return next((o for o in options if o.get("type") != "null"), options[0])
    return schema


def string_paths(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> list[list[str]]:
    """Every place in a body where the schema takes text: a string, a free map's value, a list's
    item."""
    schema = resolve(schema, spec)
    kind = schema.get("type")
    if kind == "string" or depth > 4:
        return [[]]
    if kind == "array":
        return [["0", *rest] for rest in string_paths(schema.get("items", {}), spec, depth + 1)]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties")
        if not properties:
            return [["note"]]  # a free map (alert details, vars)
        return [
            [name, *rest]
            for name, sub in properties.items()
            for rest in string_paths(sub, spec, depth + 1)
        ]
    return []


def body_with(path: list[str]) -> Any:
    value: Any = LONE
    for part in reversed(path):
        value = [value] if part == "0" else {part: value}
    return value


async def test_lone_surrogates_in_every_string_field_of_every_route(stack: Stack) -> None:
    spec = (await stack.http.get("/openapi.json")).json()
    created = await stack.ok("POST", "/incidents", status=201, json={"short_description": "Lone"})
    fields = 0
    for route, operations in spec["paths"].items():
        path = route.replace("{number}", created["number"])
        path = path.replace("{id}", "KE0000001").replace("{vendor}", "acme")
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            for where in string_paths(schema, spec):
                raw = json.dumps(body_with(where))  # ensure_ascii: the surrogate as \ud800
                answer = await stack.call(
                    method.upper(),
                    path,
                    who="root",
                    content=raw,
                    headers={"Content-Type": "application/json"},
                )
                fields += 1
                TRIED.append(f"{method.upper()} {route} {'.'.join(where)}")
                assert answer.status_code == 422, (route, where, answer.text)
                named = answer.json()["problems"][0]["field"]
                assert named == (".".join(where) or "body"), (route, where, named)
    assert fields >= 40  # every JSON route was reached, not a handful
    print(f"lone surrogates sent: {fields} fields")


async def test_invalid_utf8_in_the_query_string_is_not_a_500(stack: Stack) -> None:
    for path in ("/incidents?caller=%ED%A0%80", "/known-errors/search?q=%ED%A0%80%FF"):
        answer = await stack.call("GET", path, who="root")
        assert answer.status_code in (200, 422), (path, answer.status_code, answer.text)


def text_paths(value: Any, path: list[str]) -> list[list[str]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in text_paths(item, [*path, key])]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in text_paths(item, [*path, str(i)])]
    return []


def replaced(value: Any, path: list[str]) -> Any:
    if not path:
        return LONE
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        return [replaced(item, rest) if str(i) == head else item for i, item in enumerate(value)]
    return {key: replaced(item, rest) if key == head else item for key, item in value.items()}


async def test_a_lone_surrogate_in_an_otherwise_valid_body_is_refused_before_it_is_stored(
    stack: Stack, caller: str
) -> None:
    """Valid bodies but for one field: without the intake check, these reach the record store
    and Temporal's payload encoder (the alert's details were a plain-text 500)."""
    created = await stack.ok(
        "POST", "/incidents", status=201, json={"short_description": "Lone", "caller": caller}
    )
    number = created["number"]
    alert = {
        "source": "surrogates",
        "dedup_key": caller,
        "action": "trigger",
        "summary": "Disk full",
        "details": {"host": "db01", "labels": ["a", "b"]},
    }
    cases = [
        ("POST", "/incidents", "sam", {"short_description": "x", "description": "d"}),
        ("POST", f"/incidents/{number}/comment", "sam", {"text": "t", "visibility": "public"}),
        ("POST", "/alerts", "monitoring", alert),
        ("POST", "/known-errors", "sam", {"title": "t", "symptoms": "s", "workaround": "w"}),
    ]  # fmt: skip
    for method, path, who, body in cases:
        for where in text_paths(body, []):
            if where[-1] in ("visibility", "action", "caller"):
                continue  # an enum or a name: refused for that already
            raw = json.dumps(replaced(body, where))
            answer = await stack.call(
                method, path, who=who, content=raw, headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 422, (path, where, answer.status_code, answer.text)
            assert answer.json()["problems"][0]["field"] == ".".join(where)
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    assert [entry["kind"] for entry in timeline if entry["kind"] != "similar_found"] == ["created"]
