"""Schema migrations: a database made by v0.1.0 upgrades with every record intact, an empty one
is built at head, concurrent starts agree, and start-up refuses an old schema when told to.

The v0.1.0 databases are dumps in tests/fixtures/, made by tests/fixtures/make_v0_1_0_dumps.py
with v0.1.0's own code; v0.1.0-expected.json is what v0.1.0's store read back from them.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url

import tests
from api.app import create_app
from core.settings import Settings
from domain.kedb import KnownErrorCreate, KnownErrorQuery, ProblemProposal
from domain.models import IncidentRecord, IncidentView, ResolutionCode
from recordstore import Database, IncidentFilter, RecordStore
from recordstore.known_errors import KnownErrorStore
from recordstore.migrations import (
    SchemaNotAtHead,
    alembic_config,
    current_revision,
    head_revision,
    include_object,
)
from recordstore.problems import ProblemStore
from recordstore.schema import metadata
from recordstore.vendor_tickets import number_for_vendor_ticket
from tests.support.apistack import stack_settings
from tests.support.stores import BACKENDS, empty_database
from worker import serve

FIXTURES = Path(tests.__file__).parent / "fixtures"
DUMPS = {"sqlite": "v0.1.0-sqlite.sql", "postgresql": "v0.1.0-postgres.sql"}
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (FIXTURES / "v0.1.0-expected.json").read_text(encoding="utf-8")
)
V0_1_0_TABLES = {
    "counters",
    "idempotency_keys",
    "incidents",
    "timeline_entries",
    "known_errors",
    "problems",
    "vendor_tickets",
}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return await empty_database(backend, request, tmp_path)


@pytest.fixture
async def v0_1_0_url(backend: str, empty_url: str) -> str:
    """An empty database with v0.1.0's dump loaded into it: tables, records, no revision."""
    dump = (FIXTURES / DUMPS[backend]).read_text(encoding="utf-8")
    url = make_url(empty_url)
    if backend == "sqlite":
        assert url.database is not None
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # A fresh connection afterwards sees the FTS5 table the dump wrote into the schema.
        with sqlite3.connect(url.database) as db:
            db.executescript(dump)
        db.close()
    else:
        conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
        try:
            await conn.execute(dump)
        finally:
            await conn.close()
    return empty_url


def subset(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """`actual` cut down to the fields v0.1.0 had: a later field may be added, none lost."""
    return {key: actual.get(key, "<missing>") for key in expected}


# --- a v0.1.0 database ----------------------------------------------------------------------


async def test_a_v0_1_0_database_upgrades_with_every_record(backend: str, v0_1_0_url: str) -> None:
    expected = EXPECTED[backend]
    store = RecordStore(v0_1_0_url)
    try:
        await store.database.migrate()
        assert await current_revision(store.database) == head_revision()
        await _everything_reads_back(store, expected)
        await _incident_search_was_filled_in(store)
        await _writes_continue_the_numbers(store)
        await store.database.migrate()  # a second start changes nothing
        assert await current_revision(store.database) == head_revision()
        assert await _schema_differences(store.database) == []
    finally:
        await store.dispose()


async def _everything_reads_back(store: RecordStore, expected: dict[str, Any]) -> None:
    assert await _table_names(store.database) >= V0_1_0_TABLES
    for incident in expected["incidents"]:
        number = incident["view"]["number"]
        view = await store.get_incident(number)
        assert view is not None, number
        assert subset(view.model_dump(mode="json"), incident["view"]) == incident["view"]
        timeline = [entry.model_dump(mode="json") for entry in await store.get_timeline(number)]
        assert len(timeline) == len(incident["timeline"]) > 0
        assert [subset(a, e) for a, e in zip(timeline, incident["timeline"], strict=True)] == (
            incident["timeline"]
        )
    listed = await store.list_incidents(IncidentFilter(), limit=50)
    assert [view.number for view in listed.items] == [
        incident["view"]["number"] for incident in reversed(expected["incidents"])
    ]

    for claim in expected["claims"]:
        again = await store.claim_idempotency_key(
            claim["key"], claim["principal"], claim["request_hash"]
        )
        assert again == (claim["number"], False)

    known_errors = (await KnownErrorStore(store.database).list(limit=50)).items
    assert len(known_errors) == len(expected["known_errors"])
    for known, want in zip(known_errors, expected["known_errors"], strict=True):
        assert subset(known.model_dump(mode="json"), want) == want
    problems = (await ProblemStore(store.database).list(limit=50)).items
    assert len(problems) == len(expected["problems"])
    for problem, want in zip(problems, expected["problems"], strict=True):
        assert subset(problem.model_dump(mode="json"), want) == want
    for link in expected["vendor_tickets"]:
        found = await number_for_vendor_ticket(store.database, link["vendor"], link["ticket_id"])
        assert found == link["number"]

    # The search index came through too: v0.1.0's FTS5 rows (SQLite) or GIN index (PostgreSQL).
    matches = await KnownErrorStore(store.database).search(KnownErrorQuery(text="vpn café"))
    assert [match.id for match in matches] == ["KE0000001"]


async def _incident_search_was_filled_in(store: RecordStore) -> None:
    """Revision 0005 indexed the v0.1.0 incidents: their text (not their work notes), and the
    open ones in the queues."""

    async def listed(**filters: Any) -> list[str]:
        page = await store.list_incidents(IncidentFilter(**filters), limit=50)
        return [view.number for view in page.items]

    assert await listed(q="mail down") == [f"INC000000{n}" for n in (5, 4, 3, 2, 1)]
    assert await listed(q="mail", open=True) == [f"INC000000{n}" for n in (4, 3, 2, 1)]
    assert await listed(q="looking") == []  # v0.1.0's work notes stay out of the index
    assert await listed(open=False) == ["INC0000005"]
    queue = await store.queue(limit=50)
    assert "INC0000005" not in [view.number for view in queue] and len(queue) == 4


async def _writes_continue_the_numbers(store: RecordStore) -> None:
    number = await store.allocate_number()
    assert number == "INC0000006"
    old = await store.get_incident("INC0000001")
    assert old is not None
    view = IncidentView.model_validate(
        old.model_dump() | {"number": number, "short_description": "After the upgrade"}
    )
    await store.upsert_incident(IncidentRecord(view=view, timeline_start=0, new_entries=[]))
    assert await store.get_incident(number) == view
    page = await store.list_incidents(IncidentFilter(), limit=2)
    assert [item.number for item in page.items] == [number, "INC0000005"]

    kedb = KnownErrorStore(store.database)
    created = await kedb.create(KnownErrorCreate(title="Disk full", symptoms="No space left"))
    assert created.id == "KE0000004"  # KE0000003 was deleted in v0.1.0; its number stays used
    assert [m.id for m in await kedb.search(KnownErrorQuery(text="disk space"))] == [created.id]
    proposal = ProblemProposal(
        number=number,
        short_description="Disk fills up",
        resolution_code=ResolutionCode.WORKAROUND,
        resolution_notes="Rotated the logs",
        reason="workaround",
    )
    assert (await ProblemStore(store.database).propose(proposal)).id == "PRB0000003"


# --- fresh and concurrent -------------------------------------------------------------------


async def test_an_empty_database_is_built_at_head(empty_url: str) -> None:
    database = Database(empty_url)
    try:
        assert await current_revision(database) is None
        await database.migrate()
        assert await current_revision(database) == head_revision()
        assert await _table_names(database) >= V0_1_0_TABLES | {"alembic_version"}
        assert await _schema_differences(database) == []
        assert await _has_search_index(database)
    finally:
        await database.dispose()
    store = RecordStore(empty_url)
    try:
        assert await store.allocate_number() == "INC0000001"  # the counter was seeded
    finally:
        await store.dispose()


async def test_api_and_worker_starting_together_migrate_once(empty_url: str) -> None:
    databases = [Database(empty_url) for _ in range(4)]
    try:
        await asyncio.gather(*(database.migrate() for database in databases))
        assert await current_revision(databases[0]) == head_revision()
        assert await _schema_differences(databases[0]) == []
    finally:
        for database in databases:
            await database.dispose()


async def test_alembic_runs_from_a_url_on_the_async_drivers(empty_url: str) -> None:
    """env.py makes its own async engine when it is handed a URL instead of a connection."""
    config = alembic_config()
    config.attributes["url"] = empty_url
    await asyncio.to_thread(command.upgrade, config, "head")  # env.py runs its own event loop
    database = Database(empty_url)
    try:
        assert await current_revision(database) == head_revision()
        assert await _schema_differences(database) == []
        assert await _has_search_index(database)
    finally:
        await database.dispose()


# --- refusing -------------------------------------------------------------------------------


async def test_without_auto_migrate_an_empty_database_is_refused_and_left_alone(
    empty_url: str,
) -> None:
    database = Database(empty_url)
    try:
        with pytest.raises(SchemaNotAtHead) as refused:
            await database.migrate(auto=False)
        message = str(refused.value)
        assert "revision none (empty)" in message and f"needs {head_revision()}" in message
        assert "python -m recordstore.migrate" in message
        assert await _table_names(database) == set()
    finally:
        await database.dispose()


async def test_without_auto_migrate_a_v0_1_0_database_waits_for_the_command(
    v0_1_0_url: str,
) -> None:
    database = Database(v0_1_0_url)
    try:
        with pytest.raises(SchemaNotAtHead, match=r"revision none \(v0\.1\.0 tables\)"):
            await database.migrate(auto=False)
        assert "alembic_version" not in await _table_names(database)
        await database.migrate()  # what `python -m recordstore.migrate` does
        await database.migrate(auto=False)  # at head: starts
    finally:
        await database.dispose()


async def test_api_and_worker_refuse_to_start(tmp_path: Path) -> None:
    settings = stack_settings(tmp_path, "127.0.0.1:1", "unused", db_auto_migrate=False)
    app = create_app(settings)
    with pytest.raises(SchemaNotAtHead, match="python -m recordstore.migrate"):
        async with app.router.lifespan_context(app):
            pass
    with pytest.raises(SchemaNotAtHead, match="python -m recordstore.migrate"):
        await serve(settings)


def test_the_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCIDENTFLOW_DB_AUTO_MIGRATE", raising=False)
    assert Settings().db_auto_migrate is True
    monkeypatch.setenv("INCIDENTFLOW_DB_AUTO_MIGRATE", "false")
    assert Settings().db_auto_migrate is False


# --- helpers --------------------------------------------------------------------------------


async def _table_names(database: Database) -> set[str]:
    async with database.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    return set(names)


async def _schema_differences(database: Database) -> list[Any]:
    """What autogenerate would change to make the database match recordstore/schema.py."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return list(compare_metadata(context, metadata))

    async with database.engine.connect() as conn:
        return await conn.run_sync(compare)


async def _has_search_index(database: Database) -> bool:
    async with database.engine.connect() as conn:
        if database.is_sqlite:
            query = "SELECT name FROM sqlite_master WHERE name = 'known_errors_fts'"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE indexname = 'ix_known_errors_search'"
        return (await conn.execute(sa.text(query))).first() is not None
