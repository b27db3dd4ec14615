"""Inbound mail and the Message-IDs we sent (contract 13).

`receive` is the durable hand-over: the listener calls it before it answers 250, the IMAP
poller before it marks a message seen. A Message-ID already received is not stored again, so
the same mail is applied once however often it arrives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from recordstore.database import Database
from recordstore.schema import inbound_mail, sent_mail

PENDING = "pending"
APPLIED = "applied"
IGNORED = "ignored"
REJECTED = "rejected"


def digest_of(message_id: str) -> str:
    return hashlib.sha256(message_id.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class StoredMail:
    digest: str
    message_id: str
    sender: str
    received_at: datetime
    raw: bytes


async def receive(database: Database, message_id: str, sender: str, raw: bytes) -> bool:
    """Store a received message; False when its Message-ID was received before."""
    async with database.writer.begin() as conn:
        insert = Database.insert(conn, inbound_mail).values(
            digest=digest_of(message_id),
            message_id=message_id,
            sender=sender.lower(),
            received_at=datetime.now(UTC),
            raw=raw,
            status=PENDING,
        )
        result = await conn.execute(insert.on_conflict_do_nothing(index_elements=["digest"]))
    return bool(result.rowcount)


async def pending(database: Database, limit: int = 50) -> list[StoredMail]:
    """Received and not yet applied, oldest first: what a restarted listener picks up."""
    query = (
        sa.select(
            inbound_mail.c.digest,
            inbound_mail.c.message_id,
            inbound_mail.c.sender,
            inbound_mail.c.received_at,
            inbound_mail.c.raw,
        )
        .where(inbound_mail.c.status == PENDING)
        .order_by(inbound_mail.c.received_at)
        .limit(limit)
    )
    async with database.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [StoredMail(*row) for row in rows]


async def settle(
    database: Database, digest: str, status: str, number: str | None, outcome: str
) -> None:
    async with database.writer.begin() as conn:
        await conn.execute(
            inbound_mail.update()
            .where(inbound_mail.c.digest == digest)
            .values(
                status=status, number=number, outcome=outcome[:2000], applied_at=datetime.now(UTC)
            )
        )


async def outcome_of(database: Database, message_id: str) -> tuple[str, str | None, str | None]:
    """(status, number, outcome) of a received message; ("unknown", None, None) if never seen."""
    query = sa.select(inbound_mail.c.status, inbound_mail.c.number, inbound_mail.c.outcome).where(
        inbound_mail.c.digest == digest_of(message_id)
    )
    async with database.engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return ("unknown", None, None) if row is None else (row[0], row[1], row[2])


async def received_since(database: Database, sender: str, since: datetime) -> int:
    query = sa.select(sa.func.count()).where(
        inbound_mail.c.sender == sender.lower(), inbound_mail.c.received_at >= since
    )
    async with database.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def remember_sent(database: Database, message_id: str, number: str) -> None:
    async with database.writer.begin() as conn:
        insert = Database.insert(conn, sent_mail).values(
            message_id=message_id[:255], number=number, sent_at=datetime.now(UTC)
        )
        await conn.execute(insert.on_conflict_do_nothing(index_elements=["message_id"]))


async def number_for_sent(database: Database, message_ids: Iterable[str]) -> str | None:
    """The incident of the newest of `message_ids` that we sent, if any."""
    wanted = [message_id[:255] for message_id in message_ids]
    if not wanted:
        return None
    query = (
        sa.select(sent_mail.c.number)
        .where(sent_mail.c.message_id.in_(wanted))
        .order_by(sent_mail.c.sent_at.desc())
        .limit(1)
    )
    async with database.engine.connect() as conn:
        number: str | None = (await conn.execute(query)).scalar_one_or_none()
    return number
