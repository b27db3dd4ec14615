"""Problem records proposed by incidents resolved with a workaround or with no root cause."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from domain.kedb import Problem, ProblemProposal, ProblemsPage
from recordstore.database import Database
from recordstore.known_errors import bump_counter
from recordstore.paging import Pager
from recordstore.schema import PROBLEM_COUNTER, problems

PAGER = Pager("PRB", problems.c.seq, by_number=True)


class _AlreadyProposed(Exception):
    """Raised inside the transaction to roll back the number it took."""


class ProblemStore:
    def __init__(self, database: Database) -> None:
        # Same database, engine and SQLite write discipline as the record store.
        self._engine = database.engine
        self._writer = database.writer

    async def propose(self, proposal: ProblemProposal) -> Problem:
        """The incident's problem record: created by the first proposal, returned by every later
        one (activity retries, a reopened and re-resolved incident, concurrent workers)."""
        existing = await self.for_incident(proposal.number)
        if existing is not None:
            return existing
        try:
            async with self._writer.begin() as conn:
                seq = await bump_counter(conn, PROBLEM_COUNTER)
                problem = Problem(
                    id=f"PRB{seq:07d}",
                    number=proposal.number,
                    title=proposal.short_description,
                    reason=proposal.reason,
                    category=proposal.category,
                    service=proposal.service,
                    resolution_code=proposal.resolution_code,
                    resolution_notes=proposal.resolution_notes,
                    created_at=datetime.now(UTC),
                )
                insert = Database.insert(conn, problems).values(seq=seq, **problem.model_dump())
                inserted = await conn.execute(
                    insert.on_conflict_do_nothing(index_elements=[problems.c.number]).returning(
                        problems.c.id
                    )
                )
                if inserted.first() is None:
                    raise _AlreadyProposed
        except (_AlreadyProposed, IntegrityError):
            # A concurrent proposal for the same incident won; ours gave its number back.
            existing = await self.for_incident(proposal.number)
            if existing is None:
                raise
            return existing
        return problem

    async def get(self, problem_id: str) -> Problem | None:
        return await self._one(problems.c.id == problem_id)

    async def for_incident(self, number: str) -> Problem | None:
        return await self._one(problems.c.number == number)

    async def list(self, limit: int = 50, cursor: str | None = None) -> ProblemsPage:
        """Newest first, `limit` at a time; `next_cursor` fetches the next page."""
        async with self._engine.connect() as conn:
            query = PAGER.select(sa.select(problems), limit, cursor)
            rows = (await conn.execute(query)).mappings().all()
        page, next_cursor = PAGER.page(rows, limit, lambda row: row["id"])
        return ProblemsPage(items=[_problem(row) for row in page], next_cursor=next_cursor)

    async def _one(self, where: sa.ColumnElement[bool]) -> Problem | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(problems).where(where))).mappings().first()
        return None if row is None else _problem(row)


def _problem(row: sa.RowMapping) -> Problem:
    return Problem.model_validate({key: row[key] for key in row.keys() if key != "seq"})
