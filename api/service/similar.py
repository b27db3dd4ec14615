"""Similar incidents before creating one (contract 15): open incidents ranked by shared words,
the same service and the same CI. For the desk only: it shows other people's incidents."""

from __future__ import annotations

from api.auth import Principal
from api.service.context import Services
from api.service.errors import Forbidden, Unprocessable
from domain.similar import SimilarIncident, SimilarQuery


async def similar(
    services: Services,
    principal: Principal,
    text: str | None,
    service: str | None,
    ci: str | None,
    limit: int = 10,
) -> list[SimilarIncident]:
    if principal.requester_only:
        raise Forbidden("similar incidents are the service desk's")
    if not (text or "").strip() and not service and not ci:
        raise Unprocessable("q", "give q, service or ci to look for")
    query = SimilarQuery(text=text or "", service=service, ci=ci, limit=limit)
    return await services.store.similar_incidents(query)
