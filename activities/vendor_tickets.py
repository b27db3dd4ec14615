"""Vendor tickets: open a ticket at a vendor over HTTP, at most once per request.

The request's key travels as `Idempotency-Key`, so a retry after a timeout (the vendor may have
opened the ticket before the answer was lost) gets the same ticket back, never a second one.
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import raise_for_status
from domain import names
from domain.calendar import TWENTY_FOUR_SEVEN, parse_duration
from domain.policy import Policy, VendorPolicy
from domain.vendors import VendorTicketRequest, VendorTicketResult
from recordstore import RecordStore
from recordstore.vendor_tickets import link_vendor_ticket

log = structlog.get_logger()

UNKNOWN_VENDOR = "UnknownVendor"
VENDOR_REJECTED = "VendorRejected"  # final: 4xx other than 429, or an answer without a ticket
VENDOR_UNAVAILABLE = "VendorUnavailable"  # retried: 429, 5xx, unreachable, timed out


class VendorActivities:
    def __init__(self, policy: Policy, http: httpx.AsyncClient, store: RecordStore) -> None:
        self._vendors = policy.vendors
        self._http = http
        self._store = store

    @activity.defn(name=names.CREATE_VENDOR_TICKET)
    async def create_vendor_ticket(self, request: VendorTicketRequest) -> VendorTicketResult:
        logger = log.bind(
            incident=request.number,
            vendor=request.vendor,
            key=request.key,
            attempt=activity.info().attempt,
        )
        vendor = self._vendors.get(request.vendor)
        if vendor is None:
            known = ", ".join(self._vendors) or "none"
            raise ApplicationError(
                f"unknown vendor '{request.vendor}' (known: {known})",
                type=UNKNOWN_VENDOR,
                non_retryable=True,
            )
        answer = await self._post(request, vendor)
        result = _ticket_of(request.vendor, answer)
        # Before returning, so that the vendor's first webhook can already find the incident.
        database = self._store.database
        await link_vendor_ticket(database, result.vendor, result.ticket_id, request.number)
        logger.info("vendor ticket opened", ticket_id=result.ticket_id, status=result.status)
        return result

    async def _post(self, request: VendorTicketRequest, vendor: VendorPolicy) -> Any:
        headers = {"Idempotency-Key": request.key}
        if vendor.token:
            headers["Authorization"] = f"Bearer {vendor.token}"
        body = {
            "reference": request.number,
            "summary": request.summary,
            "priority": request.priority,
            "short_description": request.short_description,
        }
        what = f"vendor '{request.vendor}'"
        try:
            response = await self._http.post(
                f"{vendor.url.rstrip('/')}/tickets",
                json=body,
                headers=headers,
                timeout=parse_duration(vendor.timeout, TWENTY_FOUR_SEVEN),
            )
        except httpx.TransportError as error:  # connection refused, reset, timed out
            raise ApplicationError(
                f"{what} unreachable: {error!r}", type=VENDOR_UNAVAILABLE
            ) from error
        raise_for_status(response, what, rejected=VENDOR_REJECTED, unavailable=VENDOR_UNAVAILABLE)
        try:
            return response.json()
        except ValueError:
            return None


def _ticket_of(vendor: str, answer: Any) -> VendorTicketResult:
    ticket_id = None
    if isinstance(answer, dict):
        ticket_id = answer.get("id") or answer.get("ticket_id")
    if ticket_id is None or ticket_id == "":
        raise ApplicationError(
            f"vendor '{vendor}' answered without a ticket id: {str(answer)[:300]}",
            type=VENDOR_REJECTED,
            non_retryable=True,
        )
    assert isinstance(answer, dict)
    url = answer.get("url")
    return VendorTicketResult(
        vendor=vendor,
        ticket_id=str(ticket_id),
        status=str(answer.get("status") or "open"),
        url=str(url) if url else None,
    )
