"""/cis: the configuration-item catalogue (INCIDENTFLOW_CIS_FILE) and each item's open
incidents. Agents, managers and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import AuthorizedDep, ServicesDep
from api.errors import documented
from api.service import cis
from api.service.errors import Forbidden, NotFound, Unauthorized, Unprocessable

router = APIRouter(
    prefix="/cis",
    tags=["configuration items"],
    responses=documented(Unauthorized, Forbidden, Unprocessable),
)

Filter = Annotated[str | None, Query(max_length=200)]


@router.get("", response_model=cis.CisPage)
async def list_cis(
    services: ServicesDep,
    principal: AuthorizedDep,
    service: Filter = None,
    ci_class: Annotated[str | None, Query(alias="class", max_length=200)] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="part of id, name, location")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> cis.CisPage:
    """By id; `service` and `class` match exactly, `q` a part of the id, name or location
    (any case). Follow `next_cursor` for the next page."""
    return cis.listed(services.cis, service, ci_class, q, limit, cursor)


@router.get("/{id}", response_model=cis.CiDetail, responses=documented(NotFound))
async def get_ci(
    ci_id: Annotated[str, Path(alias="id", max_length=128)],
    services: ServicesDep,
    principal: AuthorizedDep,
) -> cis.CiDetail:
    """The configuration item and its open incidents (not resolved, closed or canceled),
    newest first."""
    return await cis.detail(services.cis, services.store.database, ci_id)
