"""Incident models at the API (contract 14): which model an incident opening or being
re-categorised matches, resolved here, outside the workflow, and handed to it as a snapshot
(the incident keeps the version it started with); and who may work a playbook step."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.auth import Principal
from api.service.context import Services
from domain.incident_models import ModelSnapshot
from domain.models import Action, IncidentCreate, IncidentView

STEP_ACTIONS = frozenset({Action.COMPLETE_STEP, Action.SKIP_STEP})
MATCHED_BY = ("category", "subcategory", "service", "impact", "urgency")


def model_for_create(services: Services, body: IncidentCreate) -> ModelSnapshot | None:
    priority = services.policy.priority_for(body.impact, body.urgency)
    return _snapshot(services, body.category, body.subcategory, body.service, priority)


def model_for_update(services: Services, current: IncidentView, body: BaseModel) -> dict[str, Any]:
    """`{"model": snapshot}` when the update's new values match a model other than the
    incident's own; nothing otherwise (the same model keeps the version it started with)."""
    given = {name: getattr(body, name, None) for name in MATCHED_BY}
    if all(value is None or value == getattr(current, name) for name, value in given.items()):
        return {}
    values: dict[str, Any] = {
        name: given[name] if given[name] is not None else getattr(current, name)
        for name in MATCHED_BY
    }
    priority = services.policy.priority_for(values["impact"], values["urgency"])
    name = services.models.match(
        values["category"], values["subcategory"], values["service"], priority
    )
    if name is None or (current.playbook is not None and current.playbook.model == name):
        return {}
    return {"model": services.models.snapshot(name, _leads(services))}


def _snapshot(
    services: Services, category: str | None, subcategory: str | None, service: str | None,
    priority: Any,
) -> ModelSnapshot | None:  # fmt: skip
    name = services.models.match(category, subcategory, service, priority)
    return None if name is None else services.models.snapshot(name, _leads(services))


def _leads(services: Services) -> dict[str, str | None]:
    return {name: group.lead for name, group in services.directory.groups.items()}


def owns_step(principal: Principal, view: IncidentView, step_id: str) -> bool:
    """An agent of the step's owner group may work the step, whatever group has the incident."""
    if principal.groups is None or view.playbook is None:
        return False
    step = view.playbook.step(step_id)
    return (
        step is not None and step.owner_group is not None and step.owner_group in principal.groups
    )
