"""Similar incidents: open incidents that may be the same outage as a new call, ranked by
shared words, the same service and the same configuration item.

Pure scoring here; the record store finds the candidates (recordstore/incident_search.py).
A text score is the search engine's own (bm25 on SQLite, ts_rank_cd on PostgreSQL), so it is
first scaled against the best one of the lookup: the ranking then reads the same on both
engines, and a shared CI weighs more than a shared service.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

TEXT_WEIGHT = 1.0  # the best text match; the others in proportion
SERVICE_WEIGHT = 0.5
CI_WEIGHT = 0.75
Reason = Literal["text", "service", "ci"]


class SimilarIncident(BaseModel):
    number: str
    short_description: str
    score: float
    why: list[Reason]


class SimilarQuery(BaseModel):
    """What to look for: free text, a service and a CI; `exclude` is the asking incident."""

    text: Annotated[str, StringConstraints(max_length=4000)] = ""
    service: str | None = None
    ci: str | None = None
    exclude: str | None = None
    limit: Annotated[int, Field(ge=1, le=50)] = 5


class Candidate(BaseModel):
    """An open incident the record store found, with its engine's text score (0: no words)."""

    number: str
    short_description: str
    service: str | None = None
    ci: str | None = None
    text_score: float = 0.0


def rank(query: SimilarQuery, candidates: list[Candidate]) -> list[SimilarIncident]:
    """Best first; ties go to the newer incident (the higher number)."""
    others = [c for c in candidates if c.number != query.exclude]
    best = max((c.text_score for c in others), default=0.0)
    found: dict[str, SimilarIncident] = {}
    for candidate in others:
        if candidate.number in found:
            continue
        score, why = 0.0, list[Reason]()
        if candidate.text_score > 0 and best > 0:
            score += TEXT_WEIGHT * candidate.text_score / best
            why.append("text")
        if _same(candidate.service, query.service):
            score += SERVICE_WEIGHT
            why.append("service")
        if _same(candidate.ci, query.ci):
            score += CI_WEIGHT
            why.append("ci")
        if why:
            found[candidate.number] = SimilarIncident(
                number=candidate.number,
                short_description=candidate.short_description,
                score=round(score, 3),
                why=why,
            )
    ranked = sorted(found.values(), key=lambda s: (-s.score, _negated(s.number)))
    return ranked[: query.limit]


def _same(value: str | None, wanted: str | None) -> bool:
    return bool(value and wanted and value.strip().lower() == wanted.strip().lower())


def _negated(number: str) -> int:
    digits = "".join(ch for ch in number if ch.isdigit())
    return -int(digits or 0)
