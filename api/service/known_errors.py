"""Known errors from incidents: a resolved or closed incident becomes a known error, once."""

from __future__ import annotations

from typing import Any

from temporalio.service import RPCError

from api.auth import Principal
from api.service import incidents
from api.service.context import Services
from api.service.errors import Conflict, incident_not_found
from domain.kedb import KnownError, KnownErrorCreate
from domain.models import IncidentView, ResolutionCode, Status
from recordstore.known_errors import KnownErrorStore, SourceIncidentTaken

DONE = (Status.RESOLVED, Status.CLOSED)
SYMPTOMS_MAX = 32_000  # KnownErrorFields.symptoms; an incident's description may be as long


def from_resolved_incident(incident: IncidentView) -> dict[str, Any]:
    """The known error a resolved incident describes. The resolution notes are the workaround
    (what to do when it happens again); for a `fixed` incident without the workaround flag,
    they also stand as the root cause."""
    notes = incident.resolution_notes
    fixed = incident.resolution_code == ResolutionCode.FIXED and not incident.workaround
    symptoms = "\n\n".join(
        part for part in (incident.short_description, incident.description.strip()) if part
    )
    fields: dict[str, Any] = {
        "title": incident.short_description,
        "symptoms": symptoms[:SYMPTOMS_MAX],
        "category": incident.category,
        "service": incident.service,
        "workaround": notes,
        "root_cause": notes if fixed else None,
    }
    return {name: value for name, value in fields.items() if value is not None}


async def finished_incident(services: Services, principal: Principal, number: str) -> IncidentView:
    incident = await services.store.get_incident(number)
    if incident is None:
        raise incident_not_found(number)
    if incident.status not in DONE:
        # The record follows the workflow by a moment: a resolve that just returned may not
        # be recorded yet. The live view settles it; when Temporal is away, the record stands.
        try:
            incident = await incidents.read(services, principal, number)
        except (RPCError, RuntimeError):
            pass
    if incident.status not in DONE:
        raise Conflict(
            f"{number} is {incident.status.value}: only a resolved or closed incident can "
            "become a known error",
            state=incident.status.value,
        )
    return incident


async def create_from_incident(
    kedb: KnownErrorStore, fields: KnownErrorCreate, incident: IncidentView
) -> KnownError:
    try:
        return await kedb.create(fields, source_incident=incident.number)
    except SourceIncidentTaken as taken:
        raise Conflict(
            f"{taken.number} was already turned into known error {taken.known_error_id}",
            known_error_id=taken.known_error_id,
        ) from None
