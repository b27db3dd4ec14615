"""How big what an incident keeps may grow, and what text it can keep at all.

Workflow state is carried whole by continue-as-new and every payload is capped by Temporal
(2 MB), so nothing that grows with use may grow without bound in it:
- an event's details above `INLINE_DETAILS_BYTES` are kept as a digest, their size and a
  short preview (the API stores large alert details in the record store first and sends a
  reference, so nothing is lost on that path; what a signal sends straight past the API is
  kept as the digest and the preview);
- the in-state timeline window is bounded in bytes as well as in entries (`lifecycle`).

And every string must be encodable as UTF-8 (the record store and Temporal's JSON both need
it): an unpaired UTF-16 surrogate, which JSON can carry as an escape, is refused at the door,
by the API's intake and by the workflow's one decoder alike. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

INLINE_DETAILS_BYTES = 2_048
PREVIEW_CHARS = 200
FIELD_INLINE_BYTES = 256


def canonical(value: Any) -> str:
    """One JSON text per value (sorted keys, ASCII), so its size and digest are stable."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def summary_of(text: str) -> dict[str, Any]:
    """What stands in for a large value: enough to recognise and find it again."""
    return {
        "digest": digest_of(text),
        "bytes": len(text),
        "preview": text[:PREVIEW_CHARS],
        "truncated": True,
    }


def reference_to(text: str) -> dict[str, Any]:
    """What stands in for a large value that the record store keeps whole (`stored`): fetch it
    with GET /incidents/{number}/details/{digest}."""
    return {"digest": digest_of(text), "bytes": len(text), "preview": text[:PREVIEW_CHARS]} | {
        "stored": True
    }


def bounded(details: dict[str, Any]) -> dict[str, Any]:
    """`details` itself when small; otherwise its small fields kept and each large one
    replaced by its summary (or, when even that is too large, the whole by one summary)."""
    text = canonical(details)
    if len(text) <= INLINE_DETAILS_BYTES:
        return details
    kept: dict[str, Any] = {}
    for key, value in details.items():
        piece = canonical(value)
        kept[key] = value if len(piece) <= FIELD_INLINE_BYTES else summary_of(piece)
    if len(canonical(kept)) <= INLINE_DETAILS_BYTES:
        return kept
    return summary_of(text)


def unpaired_surrogate_at(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """The dotted path of the first string (or key) holding an unpaired surrogate, if any."""
    if isinstance(value, str):
        return None if _encodable(value) else ".".join(path) or "body"
    if isinstance(value, dict):
        for key, item in value.items():
            if not _encodable(str(key)):
                return ".".join((*path, "<key>"))
            found = unpaired_surrogate_at(item, (*path, str(key)))
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unpaired_surrogate_at(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
