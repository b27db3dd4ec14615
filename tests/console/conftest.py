"""One app stack (dev server, worker, API with the console) and one browser per test module."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.console.browser import CHROMEDRIVER, CHROMIUM, Browser, start_chromium
from tests.support.apistack import Stack, api_stack, stack_settings

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "needs Debian's chromium and chromium-driver (.ci/run installs them)",
        allow_module_level=True,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def console_stack(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """Its own record store: the dashboard's figures are this module's incidents."""
    tmp: Path = tmp_path_factory.mktemp("console")
    address = dev_env.client.service_client.config.target_host
    settings = stack_settings(tmp, address, f"console-{uuid.uuid4()}")
    async with api_stack(dev_env.client, settings) as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser(console_stack: Stack, chromium: object) -> Browser:
    return Browser(chromium, str(console_stack.http.base_url).rstrip("/"))  # type: ignore[arg-type]
