"""Vendor ticket -> incident mapping, so a vendor's webhook finds the incident's workflow."""

from __future__ import annotations

import sqlalchemy as sa

from recordstore.schema import vendor_tickets
from recordstore.store import RecordStore, _insert


async def link_vendor_ticket(store: RecordStore, vendor: str, ticket_id: str, number: str) -> None:
    """Idempotent: a retried activity writes the same row again, which changes nothing."""
    # Same engine and SQLite write discipline (BEGIN IMMEDIATE) as the record store itself.
    async with store._writer.begin() as conn:
        insert = _insert(conn, vendor_tickets).values(
            vendor=vendor, ticket_id=ticket_id, number=number
        )
        await conn.execute(
            insert.on_conflict_do_nothing(
                index_elements=[vendor_tickets.c.vendor, vendor_tickets.c.ticket_id]
            )
        )


async def number_for_vendor_ticket(store: RecordStore, vendor: str, ticket_id: str) -> str | None:
    query = sa.select(vendor_tickets.c.number).where(
        vendor_tickets.c.vendor == vendor, vendor_tickets.c.ticket_id == ticket_id
    )
    async with store._engine.connect() as conn:
        number: str | None = (await conn.execute(query)).scalar_one_or_none()
    return number
