"""Idempotency keys: the same key with the same request by the same principal acts once; the
same key with a different request is refused (`IdempotencyConflict`, from the record store)."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

from api.auth import Principal
from recordstore import RecordStore


async def claim_number(
    store: RecordStore, principal: Principal, request: BaseModel, key: str | None
) -> tuple[str, bool]:
    """The incident number this create is for, and whether it is new (False: a retry)."""
    if not key:
        return await store.allocate_number(), True
    digest = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
    return await store.claim_idempotency_key(key, principal.name, digest)


def update_id_for(principal: Principal, key: str) -> str:
    """The Update id (and request_id) of a keyed transition: derived from who sent the key, so a
    retry after an API crash is still the same Update to Temporal and the workflow, and one
    principal's key never matches another's Update."""
    digest = hashlib.sha256(f"{principal.name}\n{key}".encode()).hexdigest()
    return f"key-{digest[:40]}"
