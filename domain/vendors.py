"""Vendor tickets: what the workflow asks a vendor for and what the vendor tells it back.

Pure models, shared by the workflow, the vendor activity and the webhook route.
"""

from __future__ import annotations

from pydantic import BaseModel

RESOLVED = "resolved"


class VendorTicketRequest(BaseModel):
    """`key` is the Idempotency-Key the vendor sees: the same key never opens a second ticket."""

    key: str
    vendor: str
    number: str
    summary: str
    priority: str
    short_description: str


class VendorTicketResult(BaseModel):
    vendor: str
    ticket_id: str
    status: str
    url: str | None = None


class VendorUpdate(BaseModel):
    """A vendor's news about its ticket: the webhook body (with the vendor from the path) and
    the payload of the `vendor_update` signal. `status` is the vendor's own word."""

    vendor: str
    ticket_id: str
    status: str
    comment: str | None = None

    @property
    def resolved(self) -> bool:
        """A vendor `resolved` resumes an incident that is awaiting the vendor."""
        return self.status.strip().lower() == RESOLVED
