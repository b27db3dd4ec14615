"""The record store: incidents, their timelines, the number counter and idempotency keys.

Writes are single statements with ON CONFLICT so that retried activities and concurrent
processes converge on the same rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import queues
from domain.models import IncidentRecord, IncidentsPage, IncidentView, Status, TimelineEntry
from domain.similar import Candidate, SimilarIncident, SimilarQuery, rank
from recordstore import incident_search
from recordstore.database import Database
from recordstore.known_errors import search_terms
from recordstore.paging import Pager
from recordstore.schema import (
    INCIDENT_COUNTER,
    affected_callers,
    counters,
    idempotency_keys,
    incidents,
    timeline_entries,
)

PAGER = Pager("INC", incidents.c.number)
FINAL_OR_RESOLVED = frozenset({Status.RESOLVED, Status.CLOSED, Status.CANCELED})
# How many candidates of each kind a similar-incidents lookup ranks.
SIMILAR_CANDIDATES = 50
OPEN_STATUSES = tuple(status.value for status in Status if status not in FINAL_OR_RESOLVED)
AFFECTED_KIND = "affected"  # the timeline kind of Action.AFFECTED


class IncidentFilter(BaseModel):
    """List filters: exact match (`caller`: the incident's caller or one counted as affected on
    it); None means no filter on that field. `q`: every word of it in the short description,
    description or public comments; `open`: not resolved, closed or canceled (false: one of
    those)."""

    status: Status | None = None
    priority: str | None = None
    group: str | None = None
    assignee: str | None = None
    caller: str | None = None
    major: bool | None = None
    breached: bool | None = None
    category: str | None = None
    service: str | None = None
    ci: str | None = None
    open: bool | None = None
    q: str | None = None


class IdempotencyConflict(Exception):
    """The same idempotency key was reused by the same principal with a different request."""


class RecordStore:
    def __init__(self, url: str) -> None:
        # Shared with the other stores of the package (KEDB, problems, vendor tickets, reports).
        self.database = Database(url)
        self._engine = self.database.engine
        self._writer = self.database.writer

    async def dispose(self) -> None:
        await self.database.dispose()

    async def ping(self) -> None:
        await self.database.ping()

    # --- numbers and idempotency ----------------------------------------------------------

    async def allocate_number(self) -> str:
        async with self._writer.begin() as conn:
            return await _next_number(conn)

    async def claim_idempotency_key(
        self, key: str, principal: str, request_hash: str
    ) -> tuple[str, bool]:
        stored = await self._read_claim(key, principal)
        if stored is not None:
            return _replay(stored, request_hash), False
        try:
            async with self._writer.begin() as conn:
                number = await _next_number(conn)
                await conn.execute(
                    idempotency_keys.insert().values(
                        principal=principal,
                        key=key,
                        request_hash=request_hash,
                        number=number,
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            # A concurrent first call won; our transaction (and its number) rolled back.
            stored = await self._read_claim(key, principal)
            if stored is None:
                raise
            return _replay(stored, request_hash), False
        return number, True

    async def _read_claim(self, key: str, principal: str) -> tuple[str, str] | None:
        """The (number, request_hash) stored for this principal's key, if any."""
        query = sa.select(idempotency_keys.c.number, idempotency_keys.c.request_hash).where(
            idempotency_keys.c.principal == principal, idempotency_keys.c.key == key
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (row.number, row.request_hash)

    # --- incidents ------------------------------------------------------------------------

    async def upsert_incident(self, record: IncidentRecord) -> None:
        """Write the incident's view and its timeline from `record.timeline_start` on.

        The workflow writes through a local activity, which runs inside a workflow task: when a
        worker dies before that task is committed, the write it made describes a run that never
        happened, and the task's next attempt (later clock, timers caught up first) can order the
        same entries differently. So the newest write is the truth for its range: it replaces
        every entry from its start on. A write older than the stored view (a late retry, the
        API's first write after the workflow's) changes nothing."""
        view = record.view
        async with self._writer.begin() as conn:
            row = _incident_row(view)
            upsert = Database.insert(conn, incidents).values(**row)
            upsert = upsert.on_conflict_do_update(
                index_elements=[incidents.c.number],
                set_={name: upsert.excluded[name] for name in row if name != "number"},
                where=incidents.c.version <= upsert.excluded.version,
            ).returning(incidents.c.number)
            if (await conn.execute(upsert)).first() is None:
                return  # stale: a newer write already holds this range
            replaced = await conn.execute(
                timeline_entries.delete().where(
                    timeline_entries.c.number == view.number,
                    timeline_entries.c.seq >= record.timeline_start,
                )
            )
            if record.new_entries:
                entries = [
                    _timeline_row(view.number, record.timeline_start + offset, entry)
                    for offset, entry in enumerate(record.new_entries)
                ]
                await conn.execute(timeline_entries.insert().values(entries))
                await _add_affected(conn, view.number, record.new_entries)
            comments = replaced.rowcount > 0 or any(
                incident_search.public_comment(e) for e in record.new_entries
            )
            await incident_search.reindex(conn, view.number, comments_changed=comments)

    async def get_incident(self, number: str) -> IncidentView | None:
        query = sa.select(incidents.c.view).where(incidents.c.number == number)
        async with self._engine.connect() as conn:
            stored = (await conn.execute(query)).scalar_one_or_none()
        return None if stored is None else IncidentView.model_validate(stored)

    async def get_timeline(self, number: str) -> list[TimelineEntry]:
        query = (
            sa.select(timeline_entries)
            .where(timeline_entries.c.number == number)
            .order_by(timeline_entries.c.seq)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            TimelineEntry(
                at=row["at"],
                actor=row["actor"],
                kind=row["kind"],
                from_status=row["from_status"],
                to_status=row["to_status"],
                details=row["details"],
            )
            for row in rows
        ]

    async def list_incidents(
        self, filters: IncidentFilter, limit: int = 50, cursor: str | None = None
    ) -> IncidentsPage:
        """Newest first, `limit` at a time; `next_cursor` fetches the next page. Raises
        NoSearchWords for a `q` with no word to search for."""
        terms = incident_search.words(filters.q) if filters.q is not None else None
        query = sa.select(incidents.c.view).where(*_filter_clauses(filters))
        async with self._engine.connect() as conn:
            if terms is not None:
                query = query.where(incident_search.matching(conn.dialect.name, terms, "all"))
            stored = (await conn.execute(PAGER.select(query, limit, cursor))).scalars().all()
        views, next_cursor = PAGER.page(stored, limit, lambda view: view["number"])
        items = [IncidentView.model_validate(view) for view in views]
        return IncidentsPage(items=items, next_cursor=next_cursor)

    async def similar_incidents(self, query: SimilarQuery) -> list[SimilarIncident]:
        """Open incidents ranked for the query (domain/similar.py): those sharing words, and
        those on the same service or CI."""
        terms = search_terms(query.text)
        wanted = [
            sa.func.lower(column) == value.strip().lower()
            for column, value in ((incidents.c.service, query.service), (incidents.c.ci, query.ci))
            if value
        ]
        columns = (
            incidents.c.number,
            incidents.c.short_description,
            incidents.c.service,
            incidents.c.ci,
        )
        is_open = incidents.c.status.in_(OPEN_STATUSES)
        candidates: list[Candidate] = []
        async with self._engine.connect() as conn:
            if terms:
                source, score, match = incident_search.ranked(conn.dialect.name, terms)
                texts = (
                    sa.select(*columns, score.label("text_score"))
                    .select_from(source)
                    .where(match, is_open)
                    .order_by(sa.desc("text_score"), incidents.c.number.desc())
                    .limit(SIMILAR_CANDIDATES)
                )
                candidates += [Candidate(**row) for row in (await conn.execute(texts)).mappings()]
            if wanted:
                same = (
                    sa.select(*columns)
                    .where(sa.or_(*wanted), is_open)
                    .order_by(incidents.c.number.desc())
                    .limit(SIMILAR_CANDIDATES)
                )
                candidates += [Candidate(**row) for row in (await conn.execute(same)).mappings()]
        return rank(query, candidates)

    async def queue(
        self, *, assignee: str | None = None, group: str | None = None, limit: int = 100
    ) -> list[IncidentView]:
        """Open incidents of an assignee or a group, the nearest SLA breach first; incidents
        with no running clock (paused) last; then the higher priority, then the older."""
        query = sa.select(incidents.c.view).where(incidents.c.status.in_(OPEN_STATUSES))
        if assignee is not None:
            query = query.where(incidents.c.assignee == assignee)
        if group is not None:
            query = query.where(incidents.c.assignment_group == group)
        query = query.order_by(
            sa.case((incidents.c.next_breach_at.is_(None), 1), else_=0),
            incidents.c.next_breach_at,
            incidents.c.priority,
            incidents.c.number,
        ).limit(limit)
        async with self._engine.connect() as conn:
            stored = (await conn.execute(query)).scalars().all()
        return [IncidentView.model_validate(view) for view in stored]


# --- helpers --------------------------------------------------------------------------------


async def _next_number(conn: AsyncConnection) -> str:
    # One atomic UPDATE ... RETURNING: the row lock (PostgreSQL) or the write lock (SQLite)
    # serialises concurrent callers, and a rolled-back caller gives its number back.
    bump = (
        counters.update()
        .where(counters.c.name == INCIDENT_COUNTER)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    )
    value = (await conn.execute(bump)).scalar_one()
    return f"INC{value:07d}"


def _replay(stored: tuple[str, str], request_hash: str) -> str:
    number, stored_hash = stored
    if stored_hash != request_hash:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used with a different request body"
        )
    return number


def _incident_row(view: IncidentView) -> dict[str, Any]:
    nearest = queues.nearest_breach(view)
    return {
        "number": view.number,
        "status": view.status.value,
        "priority": str(view.priority),
        "assignment_group": view.assignment_group,
        "assignee": view.assignee,
        "caller": view.caller,
        "category": view.category,
        "major": view.major,
        "breached": view.breached,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "resolved_at": view.resolved_at,
        "closed_at": view.closed_at,
        "started_at": view.started_at,
        "canceled_at": view.canceled_at,
        "response_stopped_at": view.response_sla.stopped_at,
        "response_breached_at": view.response_sla.breached_at,
        "resolution_breached_at": view.resolution_sla.breached_at,
        "version": view.version,
        "view": view.model_dump(mode="json"),
        "service": view.service,
        "ci": view.ci,
        "short_description": view.short_description,
        "description": view.description,
        "next_breach_at": nearest.due_at if nearest else None,
        "next_breach_clock": nearest.name if nearest else None,
    }


def _timeline_row(number: str, seq: int, entry: TimelineEntry) -> dict[str, Any]:
    dumped = entry.model_dump(mode="json", by_alias=True)
    return {
        "number": number,
        "seq": seq,
        "at": entry.at,
        "actor": entry.actor,
        "kind": entry.kind,
        "from_status": dumped["from"],
        "to_status": dumped["to"],
        "details": dumped["details"],
    }


async def _add_affected(conn: AsyncConnection, number: str, entries: list[TimelineEntry]) -> None:
    """Each `affected` entry's caller, once per incident, whatever retries deliver."""
    rows = [
        {"number": number, "caller": entry.details["caller"], "added_at": entry.at}
        for entry in entries
        if entry.kind == AFFECTED_KIND and isinstance(entry.details.get("caller"), str)
    ]
    if rows:
        insert = Database.insert(conn, affected_callers).values(rows)
        await conn.execute(
            insert.on_conflict_do_nothing(
                index_elements=[affected_callers.c.number, affected_callers.c.caller]
            )
        )


def _caller_clause(caller: str) -> sa.ColumnElement[bool]:
    """The incident's caller, or a caller counted as affected on it."""
    affected = sa.select(affected_callers.c.number).where(affected_callers.c.caller == caller)
    return sa.or_(incidents.c.caller == caller, incidents.c.number.in_(affected))


def _filter_clauses(filters: IncidentFilter) -> list[sa.ColumnElement[bool]]:
    columns = {
        "status": incidents.c.status,
        "priority": incidents.c.priority,
        "group": incidents.c.assignment_group,
        "assignee": incidents.c.assignee,
        "caller": incidents.c.caller,
        "major": incidents.c.major,
        "breached": incidents.c.breached,
        "category": incidents.c.category,
        "service": incidents.c.service,
        "ci": incidents.c.ci,
    }
    clauses = []
    for name, value in filters.model_dump(exclude_none=True, mode="json").items():
        if name == "caller":
            clauses.append(_caller_clause(value))
        elif name in columns:
            clauses.append(columns[name] == value)
    if filters.open is not None:
        is_open = incidents.c.status.in_(OPEN_STATUSES)
        clauses.append(is_open if filters.open else sa.not_(is_open))
    return clauses
