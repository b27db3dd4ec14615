"""/queues: the desk's open work, the nearest SLA breach first (contract 15)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import AuthorizedDep, ServicesDep
from api.errors import documented
from api.service import queues
from api.service.errors import Forbidden, NotFound, Unauthorized, Unavailable, Unprocessable
from api.service.queues import Queue

router = APIRouter(
    prefix="/queues",
    tags=["queues"],
    responses=documented(Unauthorized, Forbidden, Unprocessable, Unavailable),
)

Limit = Annotated[int, Query(ge=1, le=queues.MAX_QUEUE)]


@router.get("/mine", response_model=Queue)
async def my_queue(services: ServicesDep, principal: AuthorizedDep, limit: Limit = 100) -> Queue:
    """The open incidents assigned to you: breached and nearest-to-breach first, paused last;
    each with the clock due first and the time left."""
    return await queues.mine(services, principal, limit)


@router.get("/groups/{group}", response_model=Queue, responses=documented(NotFound))
async def group_queue(
    group: Annotated[str, Path(max_length=128, examples=["service-desk"])],
    services: ServicesDep,
    principal: AuthorizedDep,
    limit: Limit = 100,
) -> Queue:
    """A group's open incidents, in the same order as `/queues/mine`."""
    return await queues.group(services, principal, group, limit)
