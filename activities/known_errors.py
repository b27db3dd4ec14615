"""KEDB lookups and problem proposals: the incident workflow's reads and writes of the KEDB."""

from __future__ import annotations

from temporalio import activity

from recordstore import RecordStore
from recordstore.known_errors import KnownErrorStore
from recordstore.problems import ProblemStore
from workflows.kedb import KnownErrorQuery, Problem, ProblemProposal
from workflows.models import KnownErrorMatch


class KnownErrorActivities:
    def __init__(self, store: RecordStore) -> None:
        self._known_errors = KnownErrorStore(store.database)
        self._problems = ProblemStore(store.database)

    @activity.defn(name="lookup_known_errors")
    async def lookup_known_errors(self, query: KnownErrorQuery) -> list[KnownErrorMatch]:
        # A read: safe to retry after any database error.
        return await self._known_errors.search(query)

    @activity.defn(name="propose_problem")
    async def propose_problem(self, proposal: ProblemProposal) -> Problem:
        # Idempotent per incident number, so a retry after a lost reply creates nothing new.
        return await self._problems.propose(proposal)
