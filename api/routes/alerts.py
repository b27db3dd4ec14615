"""POST /alerts: monitoring opens, repeats, acknowledges and clears incidents by dedup_key."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field, StringConstraints, field_validator

from api.deps import AuthorizedDep, ServicesDep
from api.errors import documented
from api.service import alerts
from api.service.errors import (
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from domain.models import Strict
from domain.relations import AlertEvent
from workflows.alerts import AlertOutcome

router = APIRouter(tags=["alerts"])
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
DETAILS_MAX = 64_000
DETAILS_DEPTH = 32


class AlertIn(Strict):
    source: Key = Field(examples=["prometheus"])
    dedup_key: Key = Field(examples=["db01/cpu"])
    action: Literal["trigger", "acknowledge", "resolve"]
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    severity: Key = Field(default="error", description="a key of the policy's [alerts].severity")
    service: Key | None = None
    details: dict[str, Any] = Field(
        default={},
        description=f"free-form: {DETAILS_MAX:,} characters as JSON, {DETAILS_DEPTH} levels deep",
    )

    @field_validator("details")
    @classmethod
    def _bounded(cls, details: dict[str, Any]) -> dict[str, Any]:
        # The alert rides in workflow payloads, which Temporal caps (2 MB a blob) and the
        # workflow's JSON decoder reads only so deep (200 levels).
        if _deeper_than(details, DETAILS_DEPTH):
            raise ValueError(f"at most {DETAILS_DEPTH} levels deep")
        if len(json.dumps(details, ensure_ascii=False, default=str)) > DETAILS_MAX:
            raise ValueError(f"at most {DETAILS_MAX:,} characters as JSON")
        return details


def _deeper_than(value: Any, levels: int) -> bool:
    if levels < 0:
        return True
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    )
    return any(_deeper_than(child, levels - 1) for child in children)


@router.post(
    "/alerts",
    response_model=AlertOutcome,
    responses=documented(
        Unauthorized, Forbidden, NotFound, Unprocessable, TooManyRequests, Unavailable
    ),
)
async def receive_alert(
    alert: AlertIn,
    services: ServicesDep,
    principal: AuthorizedDep,
    response: Response,
) -> AlertOutcome:
    """`trigger` opens one incident per open dedup_key (concurrent repeats attach to it);
    `acknowledge` starts it when assigned; `resolve` resolves it as auto_resolved."""
    event = AlertEvent(**alert.model_dump(), received_at=datetime.now(UTC))
    outcome = await alerts.receive_alert(services, event)
    response.status_code = HTTPStatus.CREATED if outcome.created else HTTPStatus.OK
    return outcome
