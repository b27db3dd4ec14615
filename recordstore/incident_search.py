"""Full text over incidents, on the KEDB's two engines (see recordstore/known_errors.py):
short description, description and public comments; work notes are never indexed.

- SQLite: an FTS5 table (porter stemming), rowid = the number's digits, rewritten from the
  incident's row in the same transaction as every upsert (`reindex`).
- PostgreSQL: a weighted tsvector under a GIN expression index; nothing to write.

The list filter needs every word (`mode="all"`); similar incidents need any (`"any"`), ranked.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.models import Action, TimelineEntry, Visibility
from recordstore.known_errors import fts5_query, search_terms
from recordstore.schema import INCIDENT_TSVECTOR, INCIDENTS_FTS, incidents, timeline_entries

Mode = Literal["all", "any"]
# bm25 weights in the FTS5 table's column order: number (not indexed), short description,
# description, comments.
BM25_WEIGHTS = (0.0, 8.0, 3.0, 1.5)
TS_RANK_WEIGHTS = "{0.1, 0.3, 0.6, 1.0}"  # D, C (comments), B (description), A (short)


class NoSearchWords(ValueError):
    """Free text with no word to search for (only punctuation or words like "the")."""


def words(text: str) -> list[str]:
    terms = search_terms(text)
    if not terms:
        raise NoSearchWords(text)
    return terms


def public_comment(entry: TimelineEntry) -> bool:
    return (
        entry.kind == Action.COMMENT.value
        and entry.details.get("visibility") == Visibility.PUBLIC.value
    )


async def reindex(conn: AsyncConnection, number: str, comments_changed: bool) -> None:
    """Bring the incident's searched text up to date, inside the upsert's transaction."""
    if comments_changed:
        await _collect_public_comments(conn, number)
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL's GIN index follows the table by itself
    rowid = int(number.removeprefix("INC"))
    await conn.execute(
        sa.text(f"DELETE FROM {INCIDENTS_FTS} WHERE rowid = :rowid"), {"rowid": rowid}
    )
    await conn.execute(
        sa.text(
            f"INSERT INTO {INCIDENTS_FTS} (rowid, number, short_description, description, comments)"
            " SELECT :rowid, number, coalesce(short_description, ''), coalesce(description, ''),"
            " coalesce(public_comments, '') FROM incidents WHERE number = :number"
        ),
        {"rowid": rowid, "number": number},
    )


async def _collect_public_comments(conn: AsyncConnection, number: str) -> None:
    # From the stored timeline, not the upsert's new entries: a retried or late upsert leaves
    # the same text, whatever order the entries arrived in.
    query = (
        sa.select(timeline_entries.c.details)
        .where(timeline_entries.c.number == number, timeline_entries.c.kind == "comment")
        .order_by(timeline_entries.c.seq)
    )
    texts = [
        str(details.get("text", ""))
        for details in (await conn.execute(query)).scalars()
        if isinstance(details, dict) and details.get("visibility") == Visibility.PUBLIC.value
    ]
    await conn.execute(
        incidents.update()
        .where(incidents.c.number == number)
        .values(public_comments="\n".join(texts))
    )


def matching(dialect: str, terms: list[str], mode: Mode) -> sa.ColumnElement[bool]:
    """A WHERE clause on `incidents`: its text has all (or any) of the words."""
    if dialect == "postgresql":
        return _document().op("@@", return_type=sa.Boolean)(_tsquery(terms, mode))
    fts: sa.ColumnClause[Any] = sa.literal_column(INCIDENTS_FTS)
    found: sa.Select[Any] = (
        sa.select(sa.literal_column("number"))
        .select_from(sa.table(INCIDENTS_FTS))
        .where(fts.op("MATCH", return_type=sa.Boolean)(_fts_param(terms, mode)))
    )
    return incidents.c.number.in_(found)


def ranked(
    dialect: str, terms: list[str]
) -> tuple[sa.FromClause, sa.ColumnElement[float], sa.ColumnElement[bool]]:
    """`incidents` joined to what scores them for any of the words: (source, score, match)."""
    if dialect == "postgresql":
        tsquery = _tsquery(terms, "any")
        weights: sa.ColumnClause[Any] = sa.literal_column(f"'{TS_RANK_WEIGHTS}'::float4[]")
        score = sa.func.ts_rank_cd(weights, _document(), tsquery, 1, type_=sa.Float)
        match = _document().op("@@", return_type=sa.Boolean)(tsquery)
        return incidents, score, match
    fts_table: sa.ColumnClause[Any] = sa.literal_column(INCIDENTS_FTS)
    hits = (
        sa.select(
            sa.literal_column("number").label("number"),
            (-sa.func.bm25(fts_table, *BM25_WEIGHTS, type_=sa.Float)).label("score"),
        )
        .select_from(sa.table(INCIDENTS_FTS))
        .where(fts_table.op("MATCH", return_type=sa.Boolean)(_fts_param(terms, "any")))
        .subquery("hits")
    )
    source = incidents.join(hits, hits.c.number == incidents.c.number)
    return source, hits.c.score, sa.true()


def _document() -> sa.ColumnClause[Any]:
    return sa.literal_column(f"({INCIDENT_TSVECTOR})")


def _tsquery(terms: list[str], mode: Mode) -> sa.ColumnElement[Any]:
    text = " or ".join(terms) if mode == "any" else " ".join(terms)
    return sa.func.websearch_to_tsquery(
        sa.literal_column("'english'::regconfig"), sa.bindparam(None, text, type_=sa.Text)
    )


def _fts_param(terms: list[str], mode: Mode) -> sa.BindParameter[str]:
    # search_terms keeps letters and digits only: nothing of FTS5's syntax gets through.
    query = fts5_query(terms) if mode == "any" else " AND ".join(f'"{term}"' for term in terms)
    return sa.bindparam(None, query, type_=sa.Text)
