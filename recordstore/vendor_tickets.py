"""Vendor ticket -> incident mapping, so a vendor's webhook finds the incident's workflow."""

from __future__ import annotations

import sqlalchemy as sa

from recordstore.database import Database
from recordstore.schema import vendor_tickets


async def link_vendor_ticket(database: Database, vendor: str, ticket_id: str, number: str) -> None:
    """Idempotent: a retried activity writes the same row again, which changes nothing."""
    # Same engine and SQLite write discipline (BEGIN IMMEDIATE) as the record store itself.
    async with database.writer.begin() as conn:
        insert = Database.insert(conn, vendor_tickets).values(
            vendor=vendor, ticket_id=ticket_id, number=number
        )
        await conn.execute(
            insert.on_conflict_do_nothing(
                index_elements=[vendor_tickets.c.vendor, vendor_tickets.c.ticket_id]
            )
        )


async def number_for_vendor_ticket(database: Database, vendor: str, ticket_id: str) -> str | None:
    query = sa.select(vendor_tickets.c.number).where(
        vendor_tickets.c.vendor == vendor, vendor_tickets.c.ticket_id == ticket_id
    )
    async with database.engine.connect() as conn:
        number: str | None = (await conn.execute(query)).scalar_one_or_none()
    return number
