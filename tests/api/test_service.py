"""The service layer stands without HTTP: another client (a web console) calls the same functions
and gets the same named refusals the API maps to status codes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from api import permissions
from api.auth import Principal, Role
from api.service.errors import Conflict, Forbidden, Unprocessable, workflow_refusal
from core.settings import PROJECT_DIR
from domain import lifecycle
from domain.models import Action, Status

HTTP_MODULES = ("fastapi", "starlette", "api.routes", "api.deps", "api.errors", "api.app")


def imports_of(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    "path", sorted((PROJECT_DIR / "api" / "service").glob("*.py")), ids=lambda path: path.name
)
def test_the_service_layer_imports_nothing_of_http(path: Path) -> None:
    http = {name for name in imports_of(path.read_text()) if name.startswith(HTTP_MODULES)}
    assert http == set()


def principal(*roles: Role) -> Principal:
    return Principal(name="pat", roles=frozenset(roles), token="a-token-of-sixteen-chars")


def test_the_service_refuses_actions_by_the_permissions_table() -> None:
    with pytest.raises(Forbidden, match="requesters may not assign incidents"):
        permissions.authorize_action(principal(Role.REQUESTER), Action.ASSIGN)
    with pytest.raises(Forbidden, match="it needs one of: manager, admin"):
        permissions.authorize_action(principal(Role.AGENT), Action.REVIEW)
    permissions.authorize_action(principal(Role.REQUESTER), Action.REOPEN)
    permissions.authorize_action(principal(Role.MANAGER), Action.REVIEW)
    permissions.authorize_action(principal(Role.ADMIN), Action.REVIEW)
    requester_actions = {
        action for action in Action if permissions.may_act(principal(Role.REQUESTER), action)
    }
    assert requester_actions == {Action.COMMENT, Action.CLOSE, Action.REOPEN, Action.CANCEL}


def test_a_workflows_rejection_reaches_the_service_caller_as_a_named_refusal() -> None:
    rejected = lifecycle.invalid_transition(Status.CLOSED, Action.ASSIGN)
    conflict = workflow_refusal(WorkflowUpdateFailedError(rejected))
    assert isinstance(conflict, Conflict)
    assert conflict.state == "closed" and conflict.allowed_actions == []
    assert conflict.message.startswith("cannot assign an incident that is closed")

    invalid = workflow_refusal(
        WorkflowUpdateFailedError(lifecycle.invalid_request("assignee", "needed to start"))
    )
    assert isinstance(invalid, Unprocessable) and invalid.field == "assignee"

    fault = WorkflowUpdateFailedError(ApplicationError("boom", type="SomethingElse"))
    assert workflow_refusal(fault) is None
