"""A Temporal dev server of a test module's own, with dynamic config lowered (history limits,
update limits) so that long lives happen in seconds."""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.search_attributes import ALL_KEYS


async def dev_server_with(**dynamic_config: int) -> WorkflowEnvironment:
    """`dev_server_with(**{"history.maxTotalUpdates": 60})`: each key a dynamic-config value."""
    flags = [
        part
        for key, value in dynamic_config.items()
        for part in ("--dynamic-config-value", f"{key}={value}")
    ]
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=ALL_KEYS,
        dev_server_log_level="error",
        dev_server_extra_args=flags,
    )
