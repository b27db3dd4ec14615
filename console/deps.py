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
from domain.models import Action


@dataclass
class Reader:
    """Who reads the page, and what every page shows them: their home and the majors banner."""

    principal: Principal
    services: Services
    majors: list[Announcement]

    @property
    def staff(self) -> bool:
        return not self.principal.requester_only

    @property
    def manager(self) -> bool:
        return self.principal.has(Role.MANAGER)

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


# Pages for the people who work incidents: the roles of incident work in the API's table.
STAFF = permissions.action_rule(Action.ASSIGN)
StaffDep = Annotated[Reader, Depends(admitted(STAFF))]
TemplatesDep = Annotated[Reader, Depends(admitted(permissions.TABLE[("GET", "/reply-templates")]))]
QueueDep = Annotated[Reader, Depends(admitted(permissions.TABLE[("GET", "/queues/mine")]))]
ManagerDep = Annotated[Reader, Depends(admitted(permissions.TABLE[("GET", "/reports/summary")]))]
RaiseDep = Annotated[Reader, Depends(admitted(permissions.TABLE[("POST", "/incidents")]))]


async def csrf_checked(request: Request) -> None:
    await session.check_csrf(request)


CsrfDep = Depends(csrf_checked)


def home_of(principal: Principal) -> str:
    if principal.has(Role.MANAGER) and not principal.has(Role.ADMIN):
        return "/console/dashboard"
    if principal.requester_only:
        return "/console/my"
    return "/console/queue"
