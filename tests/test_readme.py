"""The README's shell examples, run verbatim against a real API, worker and dev server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from settings import PROJECT_DIR
from tests.apistack import Stack

BLOCKS = re.findall(r"```sh\n(.*?)```", (PROJECT_DIR / "README.md").read_text(), re.S)


async def run_shell(script: str, stack: Stack, address: str) -> str:
    env = os.environ | {
        "INCIDENTFLOW_TOKENS_FILE": str(stack.settings.resolved_tokens_file),
        "TEMPORAL_ADDRESS": address,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", script, cwd=PROJECT_DIR, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == 0, text
    return text


def api_blocks(base_url: str) -> str:
    setup, *flow = BLOCKS[:4]
    assert setup.startswith("API=http://127.0.0.1:8000\n")
    return "\n".join([setup.replace("http://127.0.0.1:8000", base_url, 1), *flow])


async def test_the_readme_curl_flow_works_verbatim(
    stack: Stack, dev_env: WorkflowEnvironment
) -> None:
    address = dev_env.client.service_client.config.target_host
    output = await run_shell(api_blocks(str(stack.http.base_url)), stack, address)
    opened = re.search(r"opened (INC\d{7})", output)
    assert opened is not None, output
    number = opened.group(1)
    incident = await stack.ok("GET", f"/incidents/{number}")
    assert incident["status"] == "closed" and incident["close_code"] == "confirmed"
    assert incident["priority"] == "P2" and incident["reopen_count"] == 1
    timeline = await stack.ok("GET", f"/incidents/{number}/timeline")
    kinds = [entry["kind"] for entry in timeline if entry["kind"] != "known_errors_suggested"]
    assert kinds == [
        "created", "assign", "start", "pend", "resume", "comment", "update", "escalated",
        "resolve", "reopen", "resolve", "close", "survey_invited",
    ]  # fmt: skip
    canceled = await stack.ok("GET", "/incidents?status=canceled&caller=alice")
    assert "Printer offline" in [item["short_description"] for item in canceled["items"]]


async def test_the_readme_cli_flow_works_verbatim(
    stack: Stack, dev_env: WorkflowEnvironment
) -> None:
    created = await stack.ok(
        "POST", "/incidents", status=201, json={"short_description": "db01 CPU"}
    )
    number = created["number"]
    await stack.ok(
        "POST", f"/incidents/{number}/assign", json={"group": "dba-l1", "assignee": "sam"}
    )
    await stack.ok("POST", f"/incidents/{number}/start", json={})
    cli = BLOCKS[4]
    assert "N=INC0000001" in cli
    address = dev_env.client.service_client.config.target_host
    output = await run_shell(cli.replace("N=INC0000001", f"N={number}", 1), stack, address)
    timeline = json.loads(output.rsplit("QueryResult", 1)[1].strip())
    kinds = [entry["kind"] for entry in timeline]
    assert kinds[-4:] == ["comment", "pend", "resume", "resolve"]
    assert (
        timeline[-3]["actor"] == "monitoring"
        and timeline[-1]["details"]["resolution_code"] == "auto_resolved"
    )


@pytest.mark.parametrize(
    "query",
    re.findall(
        r"\| `([^`]*(?:Incident)[^`]*)` \|", BLOCKS and (PROJECT_DIR / "README.md").read_text()
    ),
)
async def test_the_readme_operator_queries_parse(dev_env: WorkflowEnvironment, query: str) -> None:
    # Each saved query is accepted by the server's visibility store as written.
    await dev_env.client.count_workflows(query)
