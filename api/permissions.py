"""Who may do what: one table of every endpoint and the roles it admits. The route dependencies
and the service's lifecycle actions read it, and the README's "Endpoints and roles" table is
printed from it (`python -m api.permissions`).

Admins pass every check. Requesters (the role `requester` and no other) act only on incidents
they are the caller of: the service narrows what they see and touch, the table says where they
are admitted at all. With a directory, an agent works the incidents of their groups and `new`
unassigned ones, and reads all (`works_on`); managers, automation and admins work all.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.auth import Principal, Role
from api.service.errors import Forbidden
from domain import lifecycle
from domain.models import Action, IncidentView, Status

Endpoint = tuple[str, str]  # method, path as the OpenAPI document spells it


@dataclass(frozen=True)
class Rule:
    roles: tuple[Role, ...] = ()
    requesters: str | None = None  # admitted too, limited to this (the service enforces it)
    only: str | None = None  # everyone is limited to this (the service enforces it)
    public: bool = False  # no token at all

    @property
    def admitted(self) -> tuple[Role, ...]:
        requester = (Role.REQUESTER,) if self.requesters else ()
        return (*requester, *self.roles, Role.ADMIN)

    def describe(self) -> str:
        if self.public:
            return "anyone, no token"
        if self.only:
            return self.only
        names = [role.value for role in self.admitted]
        if self.requesters:
            names[0] += f" ({self.requesters})"
        return ", ".join(names)


WORKERS = (Role.AGENT, Role.MANAGER, Role.AUTOMATION)
KEDB = (Role.AGENT, Role.MANAGER)
OWN = "their own incidents"

INCIDENT_WORK = Rule(WORKERS)
REQUESTERS_TOO = Rule(WORKERS, requesters=OWN)
KEDB_WORK = Rule(KEDB)
# What the service desk does for any incident, whichever group works it: a caller's "me too"
# is taken by whoever answers the phone.
ANY_GROUP = frozenset({Action.AFFECTED})
DESK_WORK = Rule((Role.AGENT, Role.MANAGER))
AUTOMATION = Rule((Role.AUTOMATION,))
PUBLIC = Rule(public=True)

TABLE: dict[Endpoint, Rule] = {
    ("POST", "/incidents"): Rule(WORKERS, requesters="for themselves"),
    ("GET", "/incidents"): REQUESTERS_TOO,
    ("GET", "/incidents/similar"): Rule(WORKERS),
    ("GET", "/incidents/{number}"): REQUESTERS_TOO,
    ("GET", "/incidents/{number}/timeline"): Rule(WORKERS, requesters=OWN + ", no work notes"),
    ("GET", "/incidents/{number}/details/{digest}"): REQUESTERS_TOO,
    ("POST", "/incidents/{number}/attachments"): REQUESTERS_TOO,
    ("GET", "/incidents/{number}/attachments"): REQUESTERS_TOO,
    ("GET", "/incidents/{number}/attachments/{id}"): REQUESTERS_TOO,
    ("PATCH", "/incidents/{number}"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/assign"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/start"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/pend"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/resume"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/resolve"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/reopen"): REQUESTERS_TOO,
    ("POST", "/incidents/{number}/close"): REQUESTERS_TOO,
    ("POST", "/incidents/{number}/cancel"): REQUESTERS_TOO,
    ("POST", "/incidents/{number}/escalate"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/comment"): REQUESTERS_TOO,
    ("POST", "/incidents/{number}/declare-major"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/link-parent"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/review"): Rule((Role.MANAGER,)),
    ("POST", "/incidents/{number}/vendor-tickets"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/undeclare-major"): Rule((Role.MANAGER,)),
    ("POST", "/incidents/{number}/status-update"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/return"): Rule((Role.AGENT, Role.MANAGER)),
    ("POST", "/incidents/{number}/affected"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/complete-step"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/skip-step"): INCIDENT_WORK,
    ("POST", "/incidents/{number}/survey"): Rule(
        WORKERS, requesters=OWN, only="the incident's caller"
    ),
    ("POST", "/integrations/alertmanager"): Rule((Role.AUTOMATION,)),
    ("POST", "/v2/enqueue"): Rule(only="an integration key (`routing_key`), no bearer token"),
    ("POST", "/alerts"): AUTOMATION,
    ("POST", "/vendors/{vendor}/webhook"): AUTOMATION,
    ("GET", "/known-errors"): KEDB_WORK,
    ("POST", "/known-errors"): KEDB_WORK,
    ("GET", "/known-errors/search"): KEDB_WORK,
    ("GET", "/known-errors/{id}"): KEDB_WORK,
    ("PUT", "/known-errors/{id}"): KEDB_WORK,
    ("DELETE", "/known-errors/{id}"): KEDB_WORK,
    ("GET", "/problems"): KEDB_WORK,
    ("GET", "/problems/{id}"): KEDB_WORK,
    ("GET", "/cis"): KEDB_WORK,
    ("GET", "/cis/{id}"): KEDB_WORK,
    ("GET", "/reports/summary"): Rule((Role.MANAGER,)),
    ("GET", "/queues/mine"): DESK_WORK,
    ("GET", "/queues/groups/{group}"): DESK_WORK,
    ("GET", "/reply-templates"): Rule(KEDB),
    ("GET", "/reply-templates/{name}"): Rule(KEDB),
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
}

_ACTION_PATHS = {
    Action.UPDATE: "/incidents/{number}",
    Action.VENDOR_TICKET: "/incidents/{number}/vendor-tickets",
}


def action_endpoint(action: Action) -> Endpoint:
    """Where a lifecycle action is served: `POST /incidents/{number}/<action>`, but `update` is
    `PATCH /incidents/{number}`."""
    default = "/incidents/{number}/" + action.value.replace("_", "-")
    return ("PATCH" if action == Action.UPDATE else "POST"), _ACTION_PATHS.get(action, default)


def action_rule(action: Action) -> Rule:
    return TABLE[action_endpoint(action)]


def admits(principal: Principal, rule: Rule) -> bool:
    return rule.public or principal.has(*rule.admitted)


def authorize(principal: Principal, rule: Rule) -> None:
    if not admits(principal, rule):
        allowed = ", ".join(role.value for role in rule.admitted)
        raise Forbidden(f"{principal.name} may not do this; it needs one of: {allowed}")


def may_act(principal: Principal, action: Action) -> bool:
    """Whether the principal's roles allow the action at all (a requester: on their own)."""
    rule = action_rule(action)
    if principal.requester_only:
        return rule.requesters is not None
    return admits(principal, rule)


def authorize_action(principal: Principal, action: Action) -> None:
    if principal.requester_only and not may_act(principal, action):
        raise Forbidden(f"requesters may not {action.value.replace('_', '-')} incidents")
    authorize(principal, action_rule(action))


def works_on(principal: Principal, view: IncidentView, action: Action) -> bool:
    """Whether the principal may take `action` on this incident, beyond the roles table: a
    requester on their own incidents; anyone on an incident they are the caller of, for what
    requesters may do; an agent on incidents of their groups and unassigned ones."""
    if view.caller == principal.name and action_rule(action).requesters is not None:
        return True
    if principal.requester_only:
        return False
    if principal.has(Role.MANAGER, Role.AUTOMATION) or principal.groups is None:
        return True
    if action in ANY_GROUP:
        return True
    return view.assignment_group is None or view.assignment_group in principal.groups


def reader_actions(principal: Principal, view: IncidentView) -> list[Action]:
    """`allowed_actions` as the reader sees it: what the state allows, the roles table admits
    and their groups let them do (contract 7)."""
    return [
        action
        for action in lifecycle.allowed_actions(view.status)
        if may_act(principal, action) and works_on(principal, view, action)
    ]


def authorize_on(principal: Principal, view: IncidentView, action: Action) -> None:
    if not works_on(principal, view, action):
        group = view.assignment_group
        raise Forbidden(
            f"{principal.name} may not {action.value.replace('_', '-')} {view.number}: it is "
            f"assigned to {group}, not to a group of theirs"
        )


def markdown() -> str:
    """The README's endpoint table: one row per endpoint, in the table's order."""
    rows = [
        f"| {method} | `{path}` | {rule.describe()} |" for (method, path), rule in TABLE.items()
    ]
    return "\n".join(["| method | path | roles |", "|---|---|---|", *rows]) + "\n"


ACTION_ROLES = (Role.REQUESTER, Role.AGENT, Role.MANAGER, Role.AUTOMATION)
_ON = {
    Role.REQUESTER: "own",
    Role.AGENT: "groups",
    Role.MANAGER: "all",
    Role.AUTOMATION: "all",
}


def actions_markdown() -> str:
    """The README's roles-against-actions table: per lifecycle action, where each role may
    take it (own: incidents they are the caller of; groups: incidents of their directory
    groups and unassigned ones; all). Admins may take every action."""
    header = "| action | from | " + " | ".join(role.value for role in ACTION_ROLES) + " |"
    rows = [header, "|---|---|" + "---|" * len(ACTION_ROLES)]
    for action, rule in lifecycle.TRANSITIONS.items():
        sources = ", ".join(status.value for status in Status if status in rule.sources)
        cells = []
        for role in ACTION_ROLES:
            who = Principal(name="x", roles=frozenset({role}), token="x" * 16)
            scope = "all" if action in ANY_GROUP and role == Role.AGENT else _ON[role]
            cells.append(scope if may_act(who, action) else "-")
        rows.append(f"| `{action.value}` | {sources} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(actions_markdown() if sys.argv[1:] == ["actions"] else markdown())
