"""The one decode path for workflow messages, and the one way input errors name their field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from domain import messages
from domain.models import AssignRequest, PendRequest, ResumeRequest

CONVERTER = pydantic_data_converter.payload_converter


def raw(value: object) -> RawValue:
    return RawValue(CONVERTER.to_payload(value))


def rejection(model: type, args: list[object]) -> dict[str, str]:
    with pytest.raises(ApplicationError) as refused:
        messages.decode(model, args, CONVERTER)
    assert refused.value.type == messages.INVALID_REQUEST and refused.value.non_retryable
    details: dict[str, str] = refused.value.details[0]  # type: ignore[assignment]
    return details


def test_a_json_object_becomes_its_model() -> None:
    decoded = messages.decode(AssignRequest, [raw({"group": "desk", "actor": "bot"})], CONVERTER)
    assert decoded == AssignRequest(group="desk", actor="bot")


def test_no_payload_is_an_empty_body_and_only_the_first_of_several_counts() -> None:
    assert messages.decode(ResumeRequest, [], CONVERTER) == ResumeRequest()
    assert rejection(AssignRequest, [])["field"] == "group"
    several = messages.decode(AssignRequest, [{"group": "desk"}, {"ignored": 1}], CONVERTER)
    assert several.group == "desk"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"reason": 42, "note": "x"}, "reason"),
        ({"reason": "awaiting_caller"}, "note"),
        ({"reason": "awaiting_caller", "note": "x", "colour": "red"}, "colour"),
        ([1, 2, 3], "body"),
        (None, "body"),
        ("just a string", "body"),
    ],
)
def test_a_malformed_payload_is_an_invalid_request_naming_the_field(
    value: object, field: str
) -> None:
    assert rejection(PendRequest, [raw(value)])["field"] == field


def test_a_payload_that_is_not_json_is_rejected() -> None:
    plain = Payload(metadata={"encoding": b"binary/plain"}, data=b"not json")
    assert rejection(PendRequest, [RawValue(plain)])["field"] == "body"
    broken = Payload(metadata={"encoding": b"json/plain"}, data=b"{")
    details = rejection(PendRequest, [RawValue(broken)])
    assert details["field"] == "body" and "not valid JSON" in details["message"]


def test_describe_names_the_field_as_each_door_needs() -> None:
    with pytest.raises(ValidationError) as error:
        AssignRequest.model_validate({"assignee": 3})
    issues = error.value.errors()
    assert [messages.describe(issue)[0] for issue in issues] == ["group", "assignee"]
    api_issue = issues[0] | {"loc": ("body", "group")}
    assert messages.describe(api_issue, drop=messages.REQUEST_PARTS) == (
        "group",
        "Field required",
    )
    assert messages.describe(issues[0] | {"loc": ()}, "entry")[0] == "entry"
    assert messages.summary(error.value, "entry").startswith("group: Field required; assignee:")
