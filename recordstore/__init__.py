"""The SQL record store: incidents, timelines, incident numbers and idempotency keys."""

from recordstore.store import IdempotencyConflict, IncidentFilter, RecordStore

__all__ = ["IdempotencyConflict", "IncidentFilter", "RecordStore"]
