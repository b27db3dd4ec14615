"""Idempotent requests: the first POST or PATCH with a key claims it; its answer is kept, and a
retry with the same key gets that answer back (api/idempotency.py says what counts as "the same").

A claim is one INSERT: the primary key on `key` lets exactly one of any number of concurrent
first attempts win. A claim whose request died with its process (never answered) may be taken
over once it is older than the lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from recordstore.database import Database
from recordstore.schema import idempotent_requests


@dataclass(frozen=True)
class RequestIdentity:
    """What a key stands for: who sent which request."""

    key: str
    principal: str
    method: str
    target: str  # path and query string
    body_hash: str


@dataclass(frozen=True)
class Answer:
    status_code: int
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class Claimed:
    """The key was free (or its claim abandoned): this request acts."""


@dataclass(frozen=True)
class Answered:
    """The same request was answered before: send `answer` again."""

    answer: Answer


@dataclass(frozen=True)
class InFlight:
    """The same request is being served right now, by another call."""


@dataclass(frozen=True)
class Mismatch:
    """The key was used for another request, or by another principal."""

    reason: str


Claim = Claimed | Answered | InFlight | Mismatch


class IdempotentRequests:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def claim(self, request: RequestIdentity, now: datetime, lease: timedelta) -> Claim:
        try:
            async with self._database.writer.begin() as conn:
                await conn.execute(
                    idempotent_requests.insert().values(
                        key=request.key,
                        principal=request.principal,
                        method=request.method,
                        target=request.target,
                        body_hash=request.body_hash,
                        claimed_at=now,
                    )
                )
            return Claimed()
        except IntegrityError:
            pass
        return await self._existing(request, now, lease)

    async def _existing(self, request: RequestIdentity, now: datetime, lease: timedelta) -> Claim:
        table = idempotent_requests
        async with self._database.engine.connect() as conn:
            row = (
                (await conn.execute(sa.select(table).where(table.c.key == request.key)))
                .mappings()
                .first()
            )
        if row is None:  # released between our INSERT and this read: try again
            return await self.claim(request, now, lease)
        if row["principal"] != request.principal:
            return Mismatch("already used by another principal")
        if (row["method"], row["target"]) != (request.method, request.target):
            return Mismatch(f"already used for {row['method']} {row['target']}")
        if row["body_hash"] != request.body_hash:
            return Mismatch("already used with a different request body")
        if row["status_code"] is not None:
            answer = Answer(row["status_code"], row["content_type"], row["response_body"] or b"")
            return Answered(answer)
        if row["claimed_at"] > now - lease:
            return InFlight()
        return await self._take_over(request, row["claimed_at"], now)

    async def _take_over(
        self, request: RequestIdentity, claimed_at: datetime, now: datetime
    ) -> Claim:
        table = idempotent_requests
        async with self._database.writer.begin() as conn:
            taken = await conn.execute(
                table.update()
                .where(
                    table.c.key == request.key,
                    table.c.claimed_at == claimed_at,
                    table.c.status_code.is_(None),
                )
                .values(claimed_at=now)
            )
        return Claimed() if taken.rowcount == 1 else InFlight()

    async def answer(self, key: str, answer: Answer, now: datetime) -> None:
        table = idempotent_requests
        async with self._database.writer.begin() as conn:
            await conn.execute(
                table.update()
                .where(table.c.key == key)
                .values(
                    status_code=answer.status_code,
                    content_type=answer.content_type,
                    response_body=answer.body,
                    answered_at=now,
                )
            )

    async def release(self, key: str) -> None:
        """Forget an unanswered claim: the request failed in a way a retry may mend (503)."""
        table = idempotent_requests
        async with self._database.writer.begin() as conn:
            await conn.execute(
                table.delete().where(table.c.key == key, table.c.status_code.is_(None))
            )
