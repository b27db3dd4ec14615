"""One app stack (dev server, worker, API with the console) and one browser per test module."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from core.settings import DEFAULT_POLICY_FILE
from tests.console.browser import CHROMEDRIVER, CHROMIUM, Browser, start_chromium
from tests.support.apistack import Stack, api_stack, stack_settings

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "needs Debian's chromium and chromium-driver (.ci/run installs them)",
        allow_module_level=True,
    )


def quick_p5_policy(tmp: Path) -> Path:
    """The default policy but a P5 response target of a few seconds, round the clock: a test
    watches a clock breach on an open page without waiting minutes."""
    text = DEFAULT_POLICY_FILE.read_text()
    start = text.index("[sla.P5]")
    end = text.index("\n[", start + 1)
    quick = '[sla.P5]\nresponse = "4s"\nresolution = "10d"\ncalendar = "24x7"\nwarn_at = []\n'
    path = tmp / "policy.toml"
    path.write_text(text[:start] + quick + text[end:])
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def console_stack(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory, records_url: str
) -> AsyncIterator[Stack]:
    """The session's record store, as the session's Temporal: incident numbers (workflow ids)
    never repeat across modules."""
    tmp: Path = tmp_path_factory.mktemp("console")
    address = dev_env.client.service_client.config.target_host
    settings = stack_settings(
        tmp,
        address,
        f"console-{uuid.uuid4()}",
        database_url=records_url,
        policy_file=quick_p5_policy(tmp),
    )
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
