"""Numbers are numbers (issue 12 point 9): `"2"`, `2.0` and `true` are 422s naming the field in
every integer field of an API body; the integer itself still works."""

from __future__ import annotations

import pytest

from tests.support.apistack import Stack

NOT_INTEGERS = ["2", 2.0, True]


@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
async def test_integer_fields_take_integers_only(stack: Stack, caller: str, value: object) -> None:
    body = {"short_description": "Printer", "caller": caller}
    for field in ("impact", "urgency"):
        response = await stack.call("POST", "/incidents", json=body | {field: value})
        assert response.status_code == 422, response.text
        assert response.json()["problems"][0]["field"] == field
    listed = await stack.ok("GET", f"/incidents?caller={caller}")
    assert listed["items"] == []

    number = (await stack.ok("POST", "/incidents", status=201, json=body | {"impact": 2}))["number"]
    for field in ("impact", "urgency"):
        change = {field: value, "reason": "typed as text"}
        response = await stack.call("PATCH", f"/incidents/{number}", json=change)
        assert response.status_code == 422, response.text
        assert response.json()["problems"][0]["field"] == field

    changed = await stack.ok(
        "PATCH", f"/incidents/{number}", json={"impact": 1, "reason": "a whole floor"}
    )
    assert changed["impact"] == 1
