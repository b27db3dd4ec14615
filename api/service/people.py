"""The directory at work in the service (contract 7 and 11): who a principal is in it, which
incidents they may act on, whom `assign` may name, and the group ladders an incident's policy
copy carries. An empty directory (none configured) keeps the free-text behaviour of before."""

from __future__ import annotations

from pydantic import BaseModel

from api import permissions
from api.auth import Principal, Role
from api.service.errors import Forbidden, Unprocessable
from domain.directory import Directory
from domain.models import Action, IncidentView, Visibility
from domain.policy import GroupPolicy, Policy


def configured(directory: Directory) -> bool:
    return bool(directory.people or directory.groups)


def in_directory(principal: Principal, directory: Directory) -> Principal:
    """The principal with the groups the directory gives them (their token gives the roles)."""
    if not configured(directory) or principal.groups is not None:
        return principal
    return principal.model_copy(update={"groups": directory.groups_of(principal.name)})


def check_body(principal: Principal, action: Action, body: BaseModel) -> BaseModel:
    """A requester's comment is public: a `work_note` from them is refused, and an unset
    visibility means public."""
    if not (principal.requester_only and action == Action.COMMENT):
        return body
    if "visibility" not in body.model_fields_set:
        return body.model_copy(update={"visibility": Visibility.PUBLIC})
    if getattr(body, "visibility", None) == Visibility.WORK_NOTE:
        raise Forbidden("requesters comment publicly; a work_note is for the support staff")
    return body


def api_filled(principal: Principal, view: IncidentView, action: Action) -> dict[str, object]:
    """Request fields the API sets from who asks: an agent or manager closing for the caller."""
    if action != Action.CLOSE:
        return {}
    on_behalf = principal.name != view.caller and principal.has(Role.AGENT, Role.MANAGER)
    return {"on_behalf_of_caller": on_behalf}


def authorize_on(principal: Principal, view: IncidentView, action: Action) -> None:
    permissions.authorize_on(principal, view, action)


def check_assignment(
    directory: Directory, action: Action, body: BaseModel, current: IncidentView
) -> None:
    """`assign` names a group of the directory and, optionally, a member of it; `start` with
    an assignee names a member of the incident's group."""
    if not configured(directory):
        return
    if action == Action.START:
        assignee, group = getattr(body, "assignee", None), current.assignment_group
        if assignee is not None and group is not None and not directory.is_member(assignee, group):
            raise Unprocessable("assignee", f"'{assignee}' is not a member of the group '{group}'")
        return
    if action != Action.ASSIGN:
        return
    group = str(getattr(body, "group", ""))
    if group not in directory.groups:
        known = ", ".join(sorted(directory.groups))
        raise Unprocessable("group", f"'{group}' is not a group of the directory (known: {known})")
    assignee = getattr(body, "assignee", None)
    if assignee is not None and not directory.is_member(assignee, group):
        raise Unprocessable("assignee", f"'{assignee}' is not a member of the group '{group}'")


def check_person(directory: Directory, field: str, name: str) -> None:
    """With a directory, `name` must be a person of it (a caller to tell of progress)."""
    if configured(directory) and name not in directory.people:
        raise Unprocessable(field, f"'{name}' is not a person of the directory")


def incident_policy(policy: Policy, directory: Directory) -> Policy:
    """The policy copy a new incident carries: the directory's group ladders join the policy's
    own `[groups.NAME].levels` (the policy's win), so escalation needs no directory later."""
    ladders = {
        name: GroupPolicy(levels=dict(group.levels))
        for name, group in directory.groups.items()
        if group.levels and not (name in policy.groups and policy.groups[name].levels)
    }
    if not ladders:
        return policy
    return policy.model_copy(update={"groups": {**policy.groups, **ladders}})
