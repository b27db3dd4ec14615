"""Readiness names what is missing (a worker too), and an unexpected failure is never silent."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from tests.support.apistack import Stack, serve_api, stack_settings


async def test_ready_while_a_worker_polls(stack: Stack) -> None:
    ready = await stack.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "temporal": "ok", "worker": "ok", "database": "ok"}


async def test_not_ready_when_no_worker_polls_the_task_queue(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = dev_env.client.service_client.config.target_host
    settings = stack_settings(tmp_path, address, "a-queue-no-worker-polls")
    async with serve_api(settings) as url, httpx.AsyncClient(base_url=url) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["worker"] == "no worker polls task queue 'a-queue-no-worker-polls'"
    assert ready.json()["temporal"] == "ok"


async def test_an_unexpected_failure_is_logged_counted_and_answered_in_the_error_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(stack_settings(tmp_path, "127.0.0.1:1", "unused"))

    @app.get("/broken-on-purpose")
    async def broken() -> None:
        raise ZeroDivisionError("a bug nobody foresaw")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        answer = await http.get("/broken-on-purpose")
        metrics = (await http.get("/metrics")).text
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "internal error: it has been logged; please retry or report it"
    }
    logged = capsys.readouterr()
    assert "ZeroDivisionError: a bug nobody foresaw" in logged.out + logged.err
    assert 'incidentflow_api_unhandled_errors_total{route="/broken-on-purpose"} 1.0' in metrics
