"""/vendors/{vendor}/webhook: a vendor's news about its ticket, signalled to the incident."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, StringConstraints

from api.deps import AuthorizedDep, ServicesDep
from api.errors import documented
from api.service import vendors
from api.service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from domain.vendors import VendorUpdate

router = APIRouter(prefix="/vendors", tags=["vendors"])

VendorName = Annotated[str, Path(min_length=1, max_length=128, examples=["acme"])]


class VendorWebhook(BaseModel):
    """What the vendor sends; unknown extra fields are ignored."""

    ticket_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    status: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None


class WebhookAccepted(BaseModel):
    incident: str


@router.post(
    "/{vendor}/webhook",
    status_code=HTTPStatus.ACCEPTED,
    response_model=WebhookAccepted,
    summary="a vendor's ticket update (roles: automation, admin)",
    description=(
        "Lands in the incident's timeline; status `resolved` resumes an incident that is"
        " pending `awaiting_vendor`. 404 for an unknown vendor or ticket."
    ),
    responses=documented(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Unavailable),
)
async def vendor_webhook(
    vendor: VendorName, body: VendorWebhook, services: ServicesDep, principal: AuthorizedDep
) -> WebhookAccepted:
    update = VendorUpdate(vendor=vendor, **body.model_dump())
    number = await vendors.vendor_update(services, update)
    return WebhookAccepted(incident=number)
