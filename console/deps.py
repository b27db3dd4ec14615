"""The console's dependencies: the signed-in reader (the API's principal resolution), admission
to a page by a row of the API's permissions table, and the CSRF check of every form post."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from api import permissions
from api.auth import Principal, Role
from api.deps import ServicesDep
from api.service.announcements import Announcement, open_majors
from api.service.context import Services
from console import session

# The desk's pages (queues, the incident list, log a call): those the queues admit.
STAFF = permissions.TABLE[("GET", "/queues/mine")]
REPORTS = permissions.TABLE[("GET", "/reports/summary")]


@dataclass
class Reader:
    """Who reads the page, and what every page shows them: their home and the majors banner."""

    principal: Principal
    services: Services
    majors: list[Announcement]

    @property
    def staff(self) -> bool:
        """Whether the desk's pages are theirs (the links show by the same rule as the pages)."""
        return permissions.admits(self.principal, STAFF)

    @property
    def manager(self) -> bool:
        return permissions.admits(self.principal, REPORTS)

    def context(self) -> dict[str, Any]:
        return {"principal": self.principal, "majors": self.majors, "reader": self}


async def reader(request: Request, services: ServicesDep) -> Reader:
    principal = await session.principal_of(request, services)
    return Reader(principal, services, await open_majors(services))


ReaderDep = Annotated[Reader, Depends(reader)]


def admitted(rule: permissions.Rule) -> Callable[[Reader], Awaitable[Reader]]:
    """A page for those the rule admits (a 403 page for anyone else)."""

    async def check(found: ReaderDep) -> Reader:
        permissions.authorize(found.principal, rule)
        return found

    return check


StaffDep = Annotated[Reader, Depends(admitted(STAFF))]
TemplatesDep = Annotated[Reader, Depends(admitted(permissions.TABLE[("GET", "/reply-templates")]))]
ManagerDep = Annotated[Reader, Depends(admitted(REPORTS))]
RaiseDep = Annotated[Reader, Depends(admitted(permissions.TABLE[("POST", "/incidents")]))]


async def csrf_checked(request: Request) -> None:
    await session.check_csrf(request)


CsrfDep = Depends(csrf_checked)


def home_of(principal: Principal) -> str:
    """Managers land on the dashboard, the desk on its queues, everyone else on their own
    incidents."""
    if Role.MANAGER in principal.roles:
        return "/console/dashboard"
    if permissions.admits(principal, STAFF):
        return "/console/queue"
    return "/console/my"
