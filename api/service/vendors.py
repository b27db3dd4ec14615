"""A vendor's news about its ticket, signalled to the incident the ticket belongs to."""

from __future__ import annotations

from temporalio.service import RPCError, RPCStatusCode

from api.service.context import Services
from api.service.errors import Conflict, NotFound
from domain.names import incident_workflow_id
from domain.vendors import VendorUpdate
from recordstore.vendor_tickets import number_for_vendor_ticket
from workflows.incident import IncidentWorkflow


async def vendor_update(services: Services, update: VendorUpdate) -> str:
    """The number of the incident told; an incident that has ended takes no more news."""
    vendor = update.vendor
    if vendor not in services.policy.vendors:
        raise NotFound(f"unknown vendor '{vendor}'")
    number = await number_for_vendor_ticket(services.store.database, vendor, update.ticket_id)
    if number is None:
        raise NotFound(f"no incident has {vendor} ticket '{update.ticket_id}'")
    handle = services.client.get_workflow_handle(incident_workflow_id(number))
    try:
        await handle.signal(IncidentWorkflow.vendor_update, update)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        raise Conflict(
            f"incident {number} is closed or canceled: it takes no more vendor updates"
        ) from None
    return number
