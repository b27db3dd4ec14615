"""Configuration items (contract 15): the catalogue, read with paging and filters; a CI with
its open incidents from the record store; and `ci` on create and update checked against the
catalogue here, in the service, since the workflow must not read files."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel

from api.service.errors import NotFound, Unprocessable
from domain.cis import Catalogue, ConfigurationItem
from domain.models import Action, IncidentView
from recordstore.cis import open_incidents_on
from recordstore.database import Database
from recordstore.paging import decode_any_cursor, encode_cursor

BodyT = TypeVar("BodyT", bound=BaseModel)


class CisPage(BaseModel):
    items: list[ConfigurationItem]
    next_cursor: str | None = None


class OpenIncident(BaseModel):
    number: str
    short_description: str
    status: str
    priority: str
    assignment_group: str | None = None
    created_at: datetime


class CiDetail(ConfigurationItem):
    open_incidents: list[OpenIncident] = []


def listed(
    catalogue: Catalogue,
    service: str | None,
    ci_class: str | None,
    q: str | None,
    limit: int,
    cursor: str | None,
) -> CisPage:
    """By id; `next_cursor` continues after the page's last id (the lists' one cursor format)."""
    items = sorted(catalogue.matching(service, ci_class, q), key=lambda item: item.id)
    if cursor is not None:  # InvalidCursor: the API's usual 422
        after = decode_any_cursor(cursor)
        items = [item for item in items if item.id > after]
    page = items[:limit]
    more = len(items) > limit
    return CisPage(items=page, next_cursor=encode_cursor(page[-1].id) if more else None)


async def detail(catalogue: Catalogue, database: Database, ci_id: str) -> CiDetail:
    item = catalogue.get(ci_id)
    if item is None:
        raise NotFound(f"configuration item {ci_id} not found")
    views = await open_incidents_on(database, ci_id)
    return CiDetail(
        **item.model_dump(),
        open_incidents=[OpenIncident.model_validate(view.model_dump()) for view in views],
    )


def checked(
    catalogue: Catalogue,
    body: BodyT,
    current: IncidentView | None = None,
    action: Action | None = None,
) -> BodyT:
    """A create (or an `update`) whose `ci` names a catalogue item (any text when there is no
    catalogue); with a CI and no service (neither in the body nor on the incident), the CI's
    service fills it in."""
    if action not in (None, Action.UPDATE):
        return body
    ci = getattr(body, "ci", None)
    if ci is None or not catalogue.items:  # no catalogue: free text, as groups without a directory
        return body
    item = catalogue.get(ci)
    if item is None:
        raise Unprocessable("ci", f"unknown configuration item '{ci}' (see GET /cis)")
    has_service = getattr(body, "service", None) or (current is not None and current.service)
    if item.service and not has_service:
        return body.model_copy(update={"service": item.service})
    return body
