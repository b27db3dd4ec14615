"""Unknown query parameters are a 422 naming them (contract 6), on every route of the API.

FastAPI ignores a query parameter no route declares, so `?servce=payroll` would list every
incident. This app-wide dependency compares the request's parameters with those the route
and its dependencies declare. Routes left out of the OpenAPI document (pages for people)
are not the API and keep their own rules.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.service.errors import Unprocessable

_declared: dict[int, frozenset[str]] = {}


def declared_query_params(route: APIRoute) -> frozenset[str]:
    found = _declared.get(id(route))
    if found is None:
        found = _declared[id(route)] = frozenset(_query_names(route.dependant))
    return found


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_query_params(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    declared = declared_query_params(route)
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        takes = ", ".join(sorted(declared)) or "none"
        raise Unprocessable(
            unknown[0],
            "unknown query parameter",
            message=f"unknown query parameter: {', '.join(unknown)} (this endpoint takes: {takes})",
        )
