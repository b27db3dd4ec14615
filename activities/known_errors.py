"""KEDB lookups and problem proposals: the incident workflow's reads and writes of the KEDB."""

from __future__ import annotations

from temporalio import activity

from domain import names
from domain.kedb import KnownErrorQuery, Problem, ProblemProposal
from domain.models import KnownErrorMatch
from recordstore import RecordStore
from recordstore.known_errors import KnownErrorStore
from recordstore.problems import ProblemStore


class KnownErrorActivities:
    def __init__(self, store: RecordStore) -> None:
        self._known_errors = KnownErrorStore(store.database)
        self._problems = ProblemStore(store.database)

    @activity.defn(name=names.LOOKUP_KNOWN_ERRORS)
    async def lookup_known_errors(self, query: KnownErrorQuery) -> list[KnownErrorMatch]:
        # A read: safe to retry after any database error.
        return await self._known_errors.search(query)

    @activity.defn(name=names.PROPOSE_PROBLEM)
    async def propose_problem(self, proposal: ProblemProposal) -> Problem:
        # Idempotent per incident number, so a retry after a lost reply creates nothing new.
        return await self._problems.propose(proposal)
