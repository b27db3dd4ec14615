"""A stack (dev server, worker, API) with a policy and integration keys of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.support.apistack import Stack, api_stack, stack_settings, write_tokens


def integration(name: str, **fields: str) -> dict[str, str]:
    """An `[[integration]]` of the tokens file, with a fresh 32-character key."""
    return {"name": name, "key": uuid.uuid4().hex, **fields}


def tokens_with(path: Path, integrations: list[dict[str, str]]) -> Path:
    write_tokens(path)
    tables = [
        "[[integration]]\n" + "".join(f'{key} = "{value}"\n' for key, value in entry.items())
        for entry in integrations
    ]
    with path.open("a") as tokens:
        tokens.write("\n" + "\n".join(tables))
    return path


@asynccontextmanager
async def integration_stack(
    dev_env: WorkflowEnvironment,
    tmp: Path,
    records_url: str,
    policy: str = "",
    integrations: list[dict[str, str]] | None = None,
    **settings: Any,
) -> AsyncIterator[Stack]:
    policy_file = tmp / "policy.toml"
    policy_file.write_text(policy)
    address = dev_env.client.service_client.config.target_host
    configured = stack_settings(
        tmp,
        address,
        f"incidents-{uuid.uuid4()}",
        database_url=records_url,
        policy_file=policy_file,
        tokens_file=tokens_with(tmp / "integration-tokens.toml", integrations or []),
        **settings,
    )
    async with api_stack(dev_env.client, configured) as running:
        yield running
