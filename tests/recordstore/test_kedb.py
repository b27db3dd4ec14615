"""The KEDB and problem records on SQLite (FTS5) and PostgreSQL (tsvector + GIN): CRUD, ranked
search on a realistic known-error set, and idempotent problem proposals."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.known_errors import KnownErrorActivities
from domain.kedb import KnownErrorCreate, KnownErrorQuery, ProblemProposal
from domain.models import ResolutionCode
from recordstore import RecordStore
from recordstore.known_errors import (
    KnownErrorStore,
    SourceIncidentTaken,
    fts5_query,
    search_terms,
)
from recordstore.problems import ProblemStore
from recordstore.schema import KNOWN_ERROR_TSVECTOR
from tests.support.kedb_corpus import CORPUS, LOOKUPS
from tests.support.stores import BACKENDS, fresh_store


@pytest.fixture
def store(store_on_each_backend: RecordStore) -> RecordStore:
    return store_on_each_backend


@pytest.fixture
def kedb(store: RecordStore) -> KnownErrorStore:
    return KnownErrorStore(store.database)


@pytest.fixture(scope="module", params=BACKENDS)
async def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[KnownErrorStore, dict[str, str], dict[str, str]]]:
    """The corpus loaded once per database: the store, key -> id and id -> key."""
    folder = tmp_path_factory.mktemp("kedb")
    async with fresh_store(request.param, request, folder) as records:
        known = KnownErrorStore(records.database)
        ids = {key: (await known.create(fields)).id for key, fields in CORPUS.items()}
        yield known, ids, {value: key for key, value in ids.items()}


def ke(
    title: str = "VPN drops", symptoms: str = "The tunnel drops", **fields: object
) -> KnownErrorCreate:
    return KnownErrorCreate.model_validate({"title": title, "symptoms": symptoms, **fields})


# --- CRUD -------------------------------------------------------------------------------------


async def test_create_get_replace_delete(kedb: KnownErrorStore) -> None:
    created = await kedb.create(
        ke(category="network", service="vpn", workaround="Reconnect", root_cause="NAT timeout")
    )
    assert created.id == "KE0000001" and created.status == "published"
    assert created.created_at == created.updated_at and created.created_at.tzinfo is not None
    assert await kedb.get(created.id) == created

    replaced = await kedb.update(created.id, ke(title="VPN drops at home", symptoms="Drops"))
    assert replaced is not None
    assert replaced.title == "VPN drops at home" and replaced.created_at == created.created_at
    assert replaced.updated_at >= created.updated_at
    # PUT replaces: what the body leaves out goes back to its default.
    assert replaced.category is None and replaced.workaround is None and replaced.root_cause is None
    assert await kedb.get(created.id) == replaced

    assert await kedb.delete(created.id) is True
    assert await kedb.get(created.id) is None
    assert await kedb.delete(created.id) is False
    assert await kedb.update(created.id, ke()) is None


async def test_ids_are_sequential_and_lists_page_newest_first(kedb: KnownErrorStore) -> None:
    ids = [(await kedb.create(ke(title=f"Known error {n}"))).id for n in range(5)]
    assert ids == [f"KE000000{n}" for n in range(1, 6)]
    await kedb.update(ids[1], ke(title="Known error 1", status="retired"))

    first = await kedb.list(limit=2)
    assert [item.id for item in first.items] == ["KE0000005", "KE0000004"]
    assert first.next_cursor is not None
    second = await kedb.list(limit=2, cursor=first.next_cursor)
    assert [item.id for item in second.items] == ["KE0000003", "KE0000002"]
    third = await kedb.list(limit=2, cursor=second.next_cursor)
    assert [item.id for item in third.items] == ["KE0000001"] and third.next_cursor is None

    retired = await kedb.list(status="retired")
    assert [item.id for item in retired.items] == ["KE0000002"]
    with pytest.raises(ValueError):
        await kedb.list(cursor="not-a-cursor")


async def test_concurrent_creates_get_distinct_consecutive_ids(kedb: KnownErrorStore) -> None:
    created = await asyncio.gather(*(kedb.create(ke(title=f"KE {n}")) for n in range(8)))
    assert sorted(known.id for known in created) == [f"KE000000{n}" for n in range(1, 9)]
    assert len(await kedb.search(KnownErrorQuery(text="tunnel", limit=50))) == 8


async def test_search_follows_updates_and_deletes(kedb: KnownErrorStore) -> None:
    printer = await kedb.create(ke(title="Printer offline", symptoms="Printer shows offline"))
    assert [m.id for m in await kedb.search(KnownErrorQuery(text="printer offline"))] == [
        printer.id
    ]

    await kedb.update(printer.id, ke(title="Scanner offline", symptoms="Scanner unreachable"))
    assert await kedb.search(KnownErrorQuery(text="printer")) == []
    assert [m.id for m in await kedb.search(KnownErrorQuery(text="scanner"))] == [printer.id]

    await kedb.update(printer.id, ke(title="Scanner offline", symptoms="x", status="retired"))
    assert await kedb.search(KnownErrorQuery(text="scanner")) == []

    await kedb.delete(printer.id)
    assert await kedb.search(KnownErrorQuery(text="scanner offline")) == []
    await kedb.create(ke(title="Printer offline again", symptoms="Offline"))
    async with kedb.database.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # FTS5 compares its index with the content table and fails on any difference.
            await conn.execute(
                sa.text(
                    "INSERT INTO known_errors_fts (known_errors_fts, rank)"
                    " VALUES ('integrity-check', 1)"
                )
            )


async def test_an_incident_becomes_at_most_one_known_error(kedb: KnownErrorStore) -> None:
    first = await kedb.create(ke(), source_incident="INC0000042")
    assert first.source_incident == "INC0000042"
    with pytest.raises(SourceIncidentTaken) as taken:
        await kedb.create(ke(), source_incident="INC0000042")
    assert taken.value.known_error_id == first.id
    second = await kedb.create(ke())  # the failed attempt gave its number back
    assert second.id == "KE0000002"


# --- ranking ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), LOOKUPS, ids=[key for _, key in LOOKUPS])
async def test_the_right_known_error_ranks_first(
    corpus: tuple[KnownErrorStore, dict[str, str], dict[str, str]], text: str, expected: str
) -> None:
    known, ids, keys = corpus
    matches = await known.search(KnownErrorQuery(text=text, limit=3))
    assert matches, text
    assert [keys[m.id] for m in matches][0] == expected, [(keys[m.id], m.score) for m in matches]
    assert all(m.score > 0 for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    top = CORPUS[expected]
    assert matches[0].title == top.title and matches[0].workaround == top.workaround


async def test_scores_descend_over_a_long_list(
    corpus: tuple[KnownErrorStore, dict[str, str], dict[str, str]],
) -> None:
    known, _, _ = corpus
    matches = await known.search(KnownErrorQuery(text="password change outlook vpn", limit=20))
    assert len(matches) >= 5
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True) and min(scores) > 0
    assert len({m.id for m in matches}) == len(matches)


async def test_category_and_service_boost_without_filtering(
    corpus: tuple[KnownErrorStore, dict[str, str], dict[str, str]],
) -> None:
    known, ids, keys = corpus
    text = "the certificate has expired"
    plain = await known.search(KnownErrorQuery(text=text, limit=10))
    plain_scores = {m.id: m.score for m in plain}
    vpn = ids["vpn-cert-expired"]
    assert keys[plain[0].id] == "cert-intranet-expired" and vpn in plain_scores

    boosted = await known.search(KnownErrorQuery(text=text, category="Network", limit=10))
    assert boosted[0].id == vpn
    assert boosted[0].score == pytest.approx(plain_scores[vpn] * 1.5, rel=1e-4)
    # A boost, not a filter: known errors of other categories are still suggested.
    assert {keys[m.id] for m in boosted} >= {"cert-intranet-expired", "cert-api-expired"}
    unboosted = {m.id: m.score for m in boosted if m.id != vpn}
    assert unboosted == pytest.approx({id_: plain_scores[id_] for id_ in unboosted}, rel=1e-4)

    both = await known.search(KnownErrorQuery(text=text, category="network", service="vpn"))
    assert both[0].id == vpn
    assert both[0].score == pytest.approx(plain_scores[vpn] * 1.5 * 1.5, rel=1e-4)


async def test_limit_and_no_match(
    corpus: tuple[KnownErrorStore, dict[str, str], dict[str, str]],
) -> None:
    known, _, _ = corpus
    assert len(await known.search(KnownErrorQuery(text="outlook", limit=2))) == 2
    assert await known.search(KnownErrorQuery(text="zebra giraffe xylophone")) == []
    assert await known.search(KnownErrorQuery(text="the and of to")) == []


HOSTILE = [
    '"unterminated quote vpn',
    "NEAR(vpn outlook, 2)",
    "vpn* OR outlook*",
    "((( printer",
    "AND OR NOT",
    "title:vpn symptoms:printer",
    "-vpn !printer & | <-> :*",
    "'; DROP TABLE known_errors; --",
    "vpn\\ \\\\ ^ $ % _ [ ] { }",
    "Ünïcödé naïve café 中文 VPN 🙂 ﷽",
    "x" * 5_000,
    " ".join(f"word{n}" for n in range(500)),
    "",
    "   ",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
async def test_hostile_text_never_breaks_the_query(
    corpus: tuple[KnownErrorStore, dict[str, str], dict[str, str]], text: str
) -> None:
    known, _, _ = corpus
    matches = await known.search(KnownErrorQuery(text=text, limit=5))
    assert all(m.score > 0 for m in matches)
    if "vpn" in text.lower():
        assert matches, "the plain words of a hostile query still match"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_makes_a_valid_fts5_query(text: str) -> None:
    terms = search_terms(text)
    if not terms:
        return
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='porter unicode61')")
        db.execute("INSERT INTO t (a) VALUES (?)", (text.replace("\x00", " "),))
        db.execute("SELECT rowid FROM t WHERE t MATCH ?", (fts5_query(terms),)).fetchall()


def test_search_terms_keep_only_words() -> None:
    assert search_terms('NEAR("VPN" outlook)* -- The VPN!') == ["near", "vpn", "outlook"]
    assert search_terms("my_drive café") == ["drive", "café"]


async def test_retired_and_draft_known_errors_are_never_suggested(
    corpus: tuple[KnownErrorStore, dict[str, str], dict[str, str]],
) -> None:
    known, ids, keys = corpus
    retired = CORPUS["vpn-old-client"]
    draft = CORPUS["printer-draft"]
    for fields in (retired, draft):
        matches = await known.search(KnownErrorQuery(text=f"{fields.title} {fields.symptoms}"))
        assert matches and {keys[m.id] for m in matches}.isdisjoint(
            {"vpn-old-client", "printer-draft"}
        )
    assert (await known.get(ids["vpn-old-client"])) is not None  # still there, just not offered


async def test_postgres_search_uses_the_gin_index(
    corpus: tuple[KnownErrorStore, dict[str, str], dict[str, str]],
) -> None:
    known, _, _ = corpus
    async with known.database.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        await conn.execute(sa.text("SET enable_seqscan = off"))
        plan = await conn.execute(
            sa.text(
                f"EXPLAIN SELECT id FROM known_errors WHERE ({KNOWN_ERROR_TSVECTOR})"
                " @@ websearch_to_tsquery('english'::regconfig, 'vpn or printer')"
            )
        )
        assert "ix_known_errors_search" in "\n".join(row[0] for row in plan)


# --- the activities -------------------------------------------------------------------------


def proposal(number: str = "INC0000007", **changes: object) -> ProblemProposal:
    fields: dict[str, object] = {
        "number": number,
        "short_description": "VPN drops every few minutes",
        "category": "network",
        "service": "vpn",
        "resolution_code": ResolutionCode.WORKAROUND,
        "resolution_notes": "Switched the client to SSL only",
        "reason": "workaround",
    }
    return ProblemProposal.model_validate(fields | changes)


async def test_propose_problem_is_idempotent_per_incident(store: RecordStore) -> None:
    activities = KnownErrorActivities(store)
    first = await activities.propose_problem(proposal())
    assert first.id == "PRB0000001" and first.status == "proposed"
    assert first.number == "INC0000007" and first.title == "VPN drops every few minutes"
    again = await activities.propose_problem(proposal(resolution_notes="different notes"))
    assert again == first

    racing = await asyncio.gather(
        *(activities.propose_problem(proposal("INC0000008")) for _ in range(6))
    )
    assert {problem.id for problem in racing} == {"PRB0000002"}

    problems = ProblemStore(store.database)
    page = await problems.list()
    assert [p.id for p in page.items] == ["PRB0000002", "PRB0000001"]
    assert await problems.get("PRB0000001") == first
    assert await problems.get("PRB0000999") is None
    paged = await problems.list(limit=1)
    assert paged.next_cursor is not None
    rest = await problems.list(limit=1, cursor=paged.next_cursor)
    assert [p.id for p in rest.items] == ["PRB0000001"] and rest.next_cursor is None


async def test_lookup_activity_returns_ranked_published_matches(store: RecordStore) -> None:
    kedb = KnownErrorStore(store.database)
    for key in ("vpn-idle-drop", "vpn-cert-expired", "print-spooler", "vpn-old-client"):
        await kedb.create(CORPUS[key])
    activities = KnownErrorActivities(store)
    matches = await activities.lookup_known_errors(
        KnownErrorQuery(text="VPN disconnects at home every few minutes", service="vpn")
    )
    assert [m.id for m in matches] == ["KE0000001", "KE0000002"]
    assert matches[0].workaround == CORPUS["vpn-idle-drop"].workaround


def test_inputs_are_strict() -> None:
    with pytest.raises(ValueError, match="extra"):
        KnownErrorCreate.model_validate({"title": "t", "symptoms": "s", "colour": "red"})
    with pytest.raises(ValueError, match="title"):
        KnownErrorCreate.model_validate({"title": "x" * 201, "symptoms": "s"})
    with pytest.raises(ValueError, match="NUL"):
        KnownErrorCreate.model_validate({"title": "a\x00b", "symptoms": "s"})
    with pytest.raises(ValueError, match="status"):
        KnownErrorCreate.model_validate({"title": "t", "symptoms": "s", "status": "live"})
    with pytest.raises(ValueError, match="number"):
        proposal("INC42")
