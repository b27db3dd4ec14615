"""/vendors/{vendor}/webhook: a vendor's news about its ticket, signalled to the incident."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, StringConstraints
from temporalio.service import RPCError, RPCStatusCode

from api.auth import Principal, Role
from api.deps import ServicesDep, require
from api.errors import ApiError, documented
from recordstore.vendor_tickets import number_for_vendor_ticket
from temporal_client import workflow_id
from workflows.vendors import VENDOR_UPDATE_SIGNAL, VendorUpdate

router = APIRouter(prefix="/vendors", tags=["vendors"])

Automation = Annotated[Principal, Depends(require(Role.AUTOMATION))]
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
    status_code=202,
    response_model=WebhookAccepted,
    summary="a vendor's ticket update (roles: automation, admin)",
    description=(
        "Lands in the incident's timeline; status `resolved` resumes an incident that is"
        " pending `awaiting_vendor`. 404 for an unknown vendor or ticket."
    ),
    responses=documented(401, 403, 404, 409, 422, 503),
)
async def vendor_webhook(
    vendor: VendorName, body: VendorWebhook, services: ServicesDep, principal: Automation
) -> WebhookAccepted:
    if vendor not in services.policy.vendors:
        raise ApiError(404, f"unknown vendor '{vendor}'")
    number = await number_for_vendor_ticket(services.store.database, vendor, body.ticket_id)
    if number is None:
        raise ApiError(404, f"no incident has {vendor} ticket '{body.ticket_id}'")
    update = VendorUpdate(vendor=vendor, **body.model_dump())
    handle = services.client.get_workflow_handle(workflow_id(number))
    try:
        await handle.signal(VENDOR_UPDATE_SIGNAL, update)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        raise ApiError(
            409, f"incident {number} is closed or canceled: it takes no more vendor updates"
        ) from None
    return WebhookAccepted(incident=number)
