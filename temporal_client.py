"""The one way this project connects to Temporal: the pydantic data converter, always."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from settings import Settings
from workflows import presentation
from workflows.incident import IncidentWorkflow
from workflows.models import IncidentState


async def connect(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        lazy=lazy,
        runtime=runtime,
    )


def workflow_id(number: str) -> str:
    return f"incident-{number}"


async def start_incident(
    client: Client, task_queue: str, state: IncidentState
) -> WorkflowHandle[Any, Any]:
    """Start the workflow of a newly opened incident; a retry of the same start is harmless."""
    return await client.start_workflow(
        IncidentWorkflow.run,
        state,
        id=workflow_id(state.number),
        task_queue=task_queue,
        static_summary=presentation.summary(state),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
