"""Correlation: the record store decides, once per key and window, whether a new incident
tips its configuration item or service over `[correlation].threshold` (contract 15)."""

from __future__ import annotations

from temporalio import activity

from domain import names
from domain.correlation import CorrelationOutcome, CorrelationRequest
from recordstore.correlation import Correlations


class CorrelationActivities:
    def __init__(self, correlations: Correlations) -> None:
        self._correlations = correlations

    @activity.defn(name=names.CORRELATE_INCIDENTS)
    async def correlate_incidents(self, request: CorrelationRequest) -> CorrelationOutcome:
        # One transaction; a retry finds its own decision again (recordstore/correlation.py).
        return await self._correlations.correlate(request)
