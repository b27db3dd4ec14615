"""The SQL record store: incidents, timelines, incident numbers and idempotency keys."""

from recordstore.database import Database
from recordstore.paging import InvalidCursor
from recordstore.store import IdempotencyConflict, IncidentFilter, RecordStore

__all__ = ["Database", "IdempotencyConflict", "IncidentFilter", "InvalidCursor", "RecordStore"]
