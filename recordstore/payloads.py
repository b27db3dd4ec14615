"""Large event details, kept once per content (their digest is the key), so that workflow
state and payloads carry only the digest, the size and a preview (domain/bounds.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from domain import bounds
from recordstore.database import Database
from recordstore.schema import event_payloads, timeline_entries


async def keep_large(database: Database, details: dict[str, Any]) -> dict[str, Any]:
    """`details` when small; otherwise stored here, and its reference in its place."""
    text = bounds.canonical(details)
    if len(text) <= bounds.INLINE_DETAILS_BYTES:
        return details
    reference = bounds.reference_to(text)
    async with database.writer.begin() as conn:
        insert = Database.insert(conn, event_payloads).values(
            digest=reference["digest"], body=text, bytes=len(text), stored_at=datetime.now(UTC)
        )
        await conn.execute(insert.on_conflict_do_nothing(index_elements=["digest"]))
    return reference


async def stored_details(database: Database, number: str, digest: str) -> Any | None:
    """The details behind a reference on incident `number`'s timeline; None when that
    incident's timeline names no such digest (or it is not stored)."""
    named = sa.select(timeline_entries.c.seq).where(
        timeline_entries.c.number == number,
        sa.cast(timeline_entries.c.details, sa.Text).contains(digest),
    )
    query = sa.select(event_payloads.c.body).where(
        event_payloads.c.digest == digest, sa.exists(named)
    )
    async with database.engine.connect() as conn:
        body: str | None = (await conn.execute(query)).scalar_one_or_none()
    return None if body is None else json.loads(body)
