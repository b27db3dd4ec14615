"""Similar incidents at create: the incident workflow's read of the other open incidents."""

from __future__ import annotations

from temporalio import activity

from domain import names
from domain.similar import SimilarIncident, SimilarQuery
from recordstore import RecordStore


class SimilarActivities:
    def __init__(self, store: RecordStore) -> None:
        self._store = store

    @activity.defn(name=names.LOOKUP_SIMILAR_INCIDENTS)
    async def lookup_similar_incidents(self, query: SimilarQuery) -> list[SimilarIncident]:
        # A read: safe to retry after any database error.
        return await self._store.similar_incidents(query)
