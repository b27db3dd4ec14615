"""The known-error database (KEDB): CRUD and ranked full-text search, in the record store.

One interface, two engines, chosen from the store's dialect:
- SQLite: an external-content FTS5 table (porter stemming) that every write below keeps in
  step inside the same transaction; ranked with bm25, title above symptoms above the rest.
- PostgreSQL: a weighted tsvector (title A, symptoms B, workaround and root cause C) under a
  GIN expression index, matched with websearch_to_tsquery and ranked with ts_rank_cd.

Lookups come from incident text, not from search experts, so the words are OR-ed: a known
error that shares more (and rarer) words ranks higher, and one shared word is enough to list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.kedb import (
    KnownError,
    KnownErrorFields,
    KnownErrorQuery,
    KnownErrorsPage,
    KnownErrorStatus,
)
from domain.models import KnownErrorMatch
from recordstore.database import Database
from recordstore.paging import Pager
from recordstore.schema import (
    KNOWN_ERROR_COUNTER,
    KNOWN_ERROR_TSVECTOR,
    KNOWN_ERRORS_FTS,
    counters,
    known_errors,
)

Matches = list[KnownErrorMatch]

# bm25 column weights, in the FTS5 table's column order: title, symptoms, workaround, root cause.
BM25_WEIGHTS = (8.0, 4.0, 1.5, 1.5)
# ts_rank_cd weights for {D, C, B, A}: A (title) 1.0, B (symptoms) 0.5, C (the rest) 0.2.
TS_RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"
# ts_rank_cd normalisation 1: divide by 1 + log(document length), so long texts do not win
# on length alone (bm25 normalises length by itself).
TS_RANK_NORMALISATION = 1
# A known error whose category or service is the incident's ranks this much higher.
CATEGORY_BOOST = 1.5
SERVICE_BOOST = 1.5
MAX_TERMS = 64

_WORD = re.compile(r"[^\W_]+")
# Words that say nothing about which known error it is: English function words and the
# pleasantries of a ticket. Both engines drop them (PostgreSQL would drop most by itself).
STOPWORDS = frozenset(
    """a about after again all also am an and any are as at be been before being but by can
    could did do does doing for from had has have having he her here hi hello him his how i
    if in into is it its just me my myself no nor not now of off on once only or our out
    over own please same she should so some such than thank thanks that the their them then
    there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours""".split()
)

_FTS_COLUMNS = ("title", "symptoms", "workaround", "root_cause")
PAGER = Pager("KE", known_errors.c.seq, by_number=True)


class SourceIncidentTaken(Exception):
    """The incident was already turned into a known error."""

    def __init__(self, number: str, known_error_id: str) -> None:
        super().__init__(f"{number} is already known error {known_error_id}")
        self.number, self.known_error_id = number, known_error_id


class KnownErrorStore:
    def __init__(self, database: Database) -> None:
        # The KEDB lives in the record store's database and shares its engine and pool, and
        # its writers' BEGIN IMMEDIATE on SQLite.
        self.database = database
        self._engine = database.engine
        self._writer = database.writer

    # --- CRUD -----------------------------------------------------------------------------

    async def create(
        self, fields: KnownErrorFields, source_incident: str | None = None
    ) -> KnownError:
        now = datetime.now(UTC)
        try:
            async with self._writer.begin() as conn:
                seq = await bump_counter(conn, KNOWN_ERROR_COUNTER)
                known_error = KnownError(
                    **_fields(fields),
                    id=f"KE{seq:07d}",
                    created_at=now,
                    updated_at=now,
                    source_incident=source_incident,
                )
                await conn.execute(known_errors.insert().values(_row(known_error, seq)))
                await _index(conn, seq, known_error)
        except IntegrityError:
            if source_incident is None:
                raise
            taken = await self._by_source_incident(source_incident)
            if taken is None:
                raise
            raise SourceIncidentTaken(source_incident, taken.id) from None
        return known_error

    async def get(self, known_error_id: str) -> KnownError | None:
        query = sa.select(known_errors).where(known_errors.c.id == known_error_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _known_error(row)

    async def update(self, known_error_id: str, fields: KnownErrorFields) -> KnownError | None:
        """PUT: every field is replaced; id, created_at and source_incident stay."""
        async with self._writer.begin() as conn:
            old = await _locked_row(conn, known_error_id)
            if old is None:
                return None
            current = _known_error(old)
            updated = KnownError(
                **_fields(fields),
                id=current.id,
                created_at=current.created_at,
                updated_at=datetime.now(UTC),
                source_incident=current.source_incident,
            )
            await _unindex(conn, old)
            await conn.execute(
                known_errors.update()
                .where(known_errors.c.id == known_error_id)
                .values(_row(updated, old["seq"]))
            )
            await _index(conn, old["seq"], updated)
        return updated

    async def delete(self, known_error_id: str) -> bool:
        async with self._writer.begin() as conn:
            old = await _locked_row(conn, known_error_id)
            if old is None:
                return False
            await _unindex(conn, old)
            await conn.execute(known_errors.delete().where(known_errors.c.id == known_error_id))
        return True

    async def list(
        self,
        limit: int = 50,
        cursor: str | None = None,
        status: KnownErrorStatus | None = None,
    ) -> KnownErrorsPage:
        """Newest first, `limit` at a time; `next_cursor` fetches the next page."""
        query = sa.select(known_errors)
        if status is not None:
            query = query.where(known_errors.c.status == status)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(PAGER.select(query, limit, cursor))).mappings().all()
        page, next_cursor = PAGER.page(rows, limit, lambda row: row["id"])
        return KnownErrorsPage(items=[_known_error(row) for row in page], next_cursor=next_cursor)

    async def _by_source_incident(self, number: str) -> KnownError | None:
        query = sa.select(known_errors).where(known_errors.c.source_incident == number)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _known_error(row)

    # --- search ---------------------------------------------------------------------------

    async def search(self, query: KnownErrorQuery) -> Matches:
        """Published known errors ranked for `query`, best first; scores are positive."""
        terms = search_terms(query.text)
        if not terms:
            return []
        async with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                source, score, matches = _postgres_search(terms)
            else:
                source, score, matches = _sqlite_search(terms)
            ranked = score * _boost(known_errors.c.category, query.category, CATEGORY_BOOST)
            ranked = ranked * _boost(known_errors.c.service, query.service, SERVICE_BOOST)
            select = (
                sa.select(
                    known_errors.c.id,
                    known_errors.c.title,
                    known_errors.c.workaround,
                    ranked.label("score"),
                )
                .select_from(source)
                .where(*matches, known_errors.c.status == "published")
                .order_by(sa.desc("score"), known_errors.c.seq)
                .limit(query.limit)
            )
            rows = (await conn.execute(select)).all()
        return [
            KnownErrorMatch(id=row.id, title=row.title, score=row.score, workaround=row.workaround)
            for row in rows
        ]


# --- search helpers -------------------------------------------------------------------------


def search_terms(text: str) -> list[str]:
    """The distinct meaningful words of free text, in order: letters and digits only, so no
    character a user types can reach either engine's query syntax."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if len(word) > 1 and word not in STOPWORDS:
            seen.setdefault(word, None)
        if len(seen) == MAX_TERMS:
            break
    return list(seen)


def fts5_query(terms: Sequence[str]) -> str:
    # Each word a quoted string: NEAR, AND, OR, NOT and * inside it are plain text.
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def websearch_query(terms: Sequence[str]) -> str:
    # "or" is websearch syntax for alternatives; it is a stopword, so never a term itself.
    return " or ".join(terms)


def _sqlite_search(
    terms: Sequence[str],
) -> tuple[sa.FromClause, sa.ColumnElement[float], list[sa.ColumnElement[bool]]]:
    fts = sa.table(KNOWN_ERRORS_FTS, sa.column("rowid"))
    source = known_errors.join(fts, fts.c.rowid == known_errors.c.seq)
    fts_table: sa.ColumnClause[Any] = sa.literal_column(KNOWN_ERRORS_FTS)
    # bm25 is lower-is-better and negative; negated, higher is better and positive.
    score = -sa.func.bm25(fts_table, *BM25_WEIGHTS, type_=sa.Float)
    matches = fts_table.op("MATCH", return_type=sa.Boolean)(
        sa.bindparam("fts_query", fts5_query(terms), type_=sa.Text)
    )
    return source, score, [matches]


def _postgres_search(
    terms: Sequence[str],
) -> tuple[sa.FromClause, sa.ColumnElement[float], list[sa.ColumnElement[bool]]]:
    document: sa.ColumnClause[Any] = sa.literal_column(f"({KNOWN_ERROR_TSVECTOR})")
    tsquery = sa.func.websearch_to_tsquery(
        sa.literal_column("'english'::regconfig"),
        sa.bindparam("ts_query", websearch_query(terms), type_=sa.Text),
    )
    weights: sa.ColumnClause[Any] = sa.literal_column(f"'{TS_RANK_WEIGHTS}'::float4[]")
    score = sa.func.ts_rank_cd(weights, document, tsquery, TS_RANK_NORMALISATION, type_=sa.Float)
    matches = document.op("@@", return_type=sa.Boolean)(tsquery)
    # ts_rank_cd can give 0 to a document that matches only in its weakest fields; a
    # suggestion with no score helps nobody.
    return known_errors, score, [matches, score > 0]


def _boost(column: sa.Column[Any], wanted: str | None, factor: float) -> sa.ColumnElement[Any]:
    if wanted is None:
        return sa.literal(1.0, sa.Float)
    same = sa.func.lower(column) == wanted.strip().lower()
    return sa.case((same, sa.literal(factor, sa.Float)), else_=sa.literal(1.0, sa.Float))


# --- writes ---------------------------------------------------------------------------------


async def bump_counter(conn: AsyncConnection, name: str) -> int:
    """The next value of a named counter, created at 1 on first use; one atomic statement, so
    concurrent writers serialise on it and a rolled-back writer gives its value back."""
    bump = Database.insert(conn, counters).values(name=name, value=1)
    bump = bump.on_conflict_do_update(
        index_elements=[counters.c.name], set_={"value": counters.c.value + 1}
    ).returning(counters.c.value)
    value: int = (await conn.execute(bump)).scalar_one()
    return value


async def _locked_row(conn: AsyncConnection, known_error_id: str) -> sa.RowMapping | None:
    query = sa.select(known_errors).where(known_errors.c.id == known_error_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def _index(conn: AsyncConnection, seq: int, known_error: KnownError) -> None:
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL's GIN index follows the table by itself
    values = {name: getattr(known_error, name) for name in _FTS_COLUMNS}
    await conn.execute(
        sa.text(
            f"INSERT INTO {KNOWN_ERRORS_FTS} (rowid, {', '.join(_FTS_COLUMNS)})"
            f" VALUES (:seq, {', '.join(':' + name for name in _FTS_COLUMNS)})"
        ),
        {"seq": seq, **values},
    )


async def _unindex(conn: AsyncConnection, old: sa.RowMapping) -> None:
    # An external-content index forgets a row only when told its old values exactly.
    if conn.dialect.name != "sqlite":
        return
    await conn.execute(
        sa.text(
            f"INSERT INTO {KNOWN_ERRORS_FTS} ({KNOWN_ERRORS_FTS}, rowid, {', '.join(_FTS_COLUMNS)})"
            f" VALUES ('delete', :seq, {', '.join(':' + name for name in _FTS_COLUMNS)})"
        ),
        {"seq": old["seq"], **{name: old[name] for name in _FTS_COLUMNS}},
    )


def _fields(fields: KnownErrorFields) -> dict[str, Any]:
    return fields.model_dump(include=set(KnownErrorFields.model_fields))


def _row(known_error: KnownError, seq: int) -> dict[str, Any]:
    return {"seq": seq, **known_error.model_dump()}


def _known_error(row: sa.RowMapping) -> KnownError:
    return KnownError.model_validate({key: row[key] for key in row.keys() if key != "seq"})
