"""Unknown query parameters are a 422 naming them (contract 6), on every route of the API.

FastAPI ignores a query parameter no route declares, so `?servce=payroll` would list every
incident. The request's parameters are compared with those the route and its dependencies
declare. Where a route admits principals by the roles table (`api.deps.authorized`), the
comparison runs after that check, so a 401 or 403 comes first, as for any other bad input;
elsewhere an app-wide dependency makes it. Routes left out of the OpenAPI document (pages for
people) are not the API and keep their own rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.service.errors import Unprocessable

DependencyT = TypeVar("DependencyT", bound=Callable[..., Any])
_declared: dict[int, frozenset[str]] = {}
_checking: set[Callable[..., Any]] = set()  # dependencies that call `check` themselves


def checks_query_params(dependency: DependencyT) -> DependencyT:
    """Mark a dependency that calls `check` itself, once it has let the request in."""
    _checking.add(dependency)
    return dependency


def check(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    declared = _names(route)
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        takes = ", ".join(sorted(declared)) or "none"
        raise Unprocessable(
            unknown[0],
            "unknown query parameter",
            message=f"unknown query parameter: {', '.join(unknown)} (this endpoint takes: {takes})",
        )


async def reject_unknown_query_params(request: Request) -> None:
    """The app-wide dependency: checks unless a later dependency of the route will."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and _defers(route.dependant):
        return
    check(request)


def _names(route: APIRoute) -> frozenset[str]:
    found = _declared.get(id(route))
    if found is None:
        found = _declared[id(route)] = frozenset(_query_names(route.dependant))
    return found


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _defers(dependant: Dependant) -> bool:
    return dependant.call in _checking or any(_defers(sub) for sub in dependant.dependencies)
