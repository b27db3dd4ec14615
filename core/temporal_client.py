"""The one way this project connects to Temporal: the pydantic data converter, always."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from core.settings import Settings
from domain import presentation
from domain.models import Action, ActionRequest, IncidentState, IncidentView
from domain.names import incident_workflow_id
from workflows.incident import IncidentWorkflow, action_update


async def connect(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """With INCIDENTFLOW_TEMPORAL_PROFILE set, address, namespace, TLS and API key come from
    that Temporal environment-configuration profile (temporal.toml and TEMPORAL_* variables),
    as for Temporal Cloud; otherwise from INCIDENTFLOW_TEMPORAL_ADDRESS and _NAMESPACE."""
    if settings.temporal_profile:
        config_file = settings.temporal_config_file
        profile = ClientConfig.load_client_connect_config(
            profile=settings.temporal_profile,
            config_file=str(config_file) if config_file else None,
        )
        return await Client.connect(
            **profile, data_converter=pydantic_data_converter, lazy=lazy, runtime=runtime
        )
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        lazy=lazy,
        runtime=runtime,
    )


async def start_incident(
    client: Client, task_queue: str, state: IncidentState
) -> WorkflowHandle[Any, Any]:
    """Start the workflow of a newly opened incident; a retry of the same start is harmless."""
    return await client.start_workflow(
        IncidentWorkflow.run,
        state,
        id=incident_workflow_id(state.number),
        task_queue=task_queue,
        static_summary=presentation.summary(state),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


async def execute_action(
    handle: WorkflowHandle[Any, Any], action: Action, request: ActionRequest, *, update_id: str
) -> IncidentView:
    """A transition, as the action's named Update: the new view, or the rejection raised as
    WorkflowUpdateFailedError."""
    return await handle.execute_update(action_update(action), request, id=update_id)
