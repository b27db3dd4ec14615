"""Every stored history of an earlier release replays against today's workflow code, so a
change that would break incidents already running fails here, not in production."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.alerts import AlertWorkflow
from workflows.incident import IncidentWorkflow

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def test_there_are_histories_to_replay() -> None:
    assert len(HISTORIES) >= 5


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_history_replays_on_todays_code(path: Path) -> None:
    stored = json.loads(path.read_text())
    history = WorkflowHistory.from_json(stored["workflow_id"], stored["history"])
    replayer = Replayer(
        workflows=[IncidentWorkflow, AlertWorkflow], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
