"""Messages in: the one decode path and the one way to name what is wrong with an input.

Every message to a workflow (Update, named or dynamic Signal, event Signal) becomes its model
through `decode`, or an `InvalidRequest` ApplicationError naming the field: the workflow
rejects it (Update) or records it as rejected (Signal). The API, the policy and the tokens file
describe pydantic's complaints through `describe` too. Pure: no I/O.
"""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.common import RawValue
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError

from domain.bounds import unpaired_surrogate_at

INVALID_REQUEST = "InvalidRequest"
# Where FastAPI says an input came from: the start of a location, not a field.
REQUEST_PARTS = frozenset({"body", "query", "path", "header"})

ModelT = TypeVar("ModelT", bound=BaseModel)
HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


def invalid_request(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        f"{field}: {message}",
        {"field": field, "message": message},
        type=INVALID_REQUEST,
        non_retryable=True,
    )


def describe(
    issue: Mapping[str, Any], default: str = "body", drop: Collection[str] = ()
) -> tuple[str, str]:
    """The field and the message of one pydantic issue. `default` names the whole input (a
    location of no parts); `drop` are location parts that name no field."""
    location = tuple(issue["loc"])
    if issue["type"] == "json_invalid":  # located at ("body", character position) or ("body",)
        reason = (issue.get("ctx") or {}).get("error")
        message = "not valid JSON" + (f": {reason}" if reason else "")
        if location and isinstance(location[-1], int):
            message += f" at character {location[-1]}"
        return "body", message
    field = ".".join(str(part) for part in location if part not in drop)
    return field or (str(location[-1]) if location else default), str(issue["msg"])


def summary(error: ValidationError, default: str) -> str:
    """Every issue as `field: message`, without the input values (they may be secrets)."""
    issues = error.errors(include_input=False, include_url=False)
    return "; ".join("{}: {}".format(*describe(issue, default)) for issue in issues)


def parse_toml(text: str, source: str, model: type[ModelT], error: type[Exception]) -> ModelT:
    """A configuration file (policy, directory) as its model; `error` names the file and every
    bad key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise error(f"{source}: not valid TOML: {problem}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as problem:
        raise error(f"{source}: {summary(problem, '(top)')}") from None


def decode(model: type[ModelT], args: Sequence[object], converter: PayloadConverter) -> ModelT:
    """The message's model from its payloads: none is an empty body, only the first counts (as
    ever). A payload that is malformed, of the wrong type, not JSON or not a JSON object is
    an InvalidRequest naming the field."""
    try:
        if not args:
            return model()
        payload = args[0]
        if isinstance(payload, RawValue):
            decoded = converter.from_payload(payload.payload, model)
        else:  # several payloads: Temporal has already read them as plain JSON values
            decoded = model.model_validate(payload)
    except ValidationError as error:
        raise invalid_request(*describe(error.errors()[0])) from None
    except Exception as error:  # a payload that is not JSON at all
        raise invalid_request("body", f"not a valid {model.__name__}: {error}") from None
    if not isinstance(decoded, model):  # binary/plain or binary/null: bytes or None, not JSON
        raise invalid_request("body", f"not a JSON {model.__name__}")
    unstorable = unpaired_surrogate_at(decoded.model_dump(mode="python"))
    if unstorable is not None:  # JSON may escape one; neither UTF-8 nor the record store can
        raise invalid_request(unstorable, "contains an unpaired UTF-16 surrogate")
    return decoded


def raw_payload(returns: type | None) -> Callable[[HandlerT], HandlerT]:
    """Declare a `(self, *payloads)` workflow handler to Temporal as taking one RawValue. Temporal
    decodes a named handler's payload by its type hints, and drops a signal it cannot decode
    before workflow code sees it; a RawValue it hands over untouched, so `messages.decode` is
    the only decoder. The real `*payloads` also takes no payload (an empty body) or several
    (then Temporal reads them as plain JSON), like the dynamic handlers."""

    def declare(handler: HandlerT) -> HandlerT:
        self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        payload = inspect.Parameter(
            "payload", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=RawValue
        )
        handler.__signature__ = inspect.Signature([self_parameter, payload])  # type: ignore[attr-defined]
        handler.__annotations__ = {"payload": RawValue, "return": returns}
        return handler

    return declare
