"""Similar-incident ranking and queue urgency: the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain import queues
from domain.models import SlaClock
from domain.similar import Candidate, SimilarQuery, rank
from tests.recordstore.test_recordstore import make_view

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_ranking_scales_text_to_the_best_match_and_adds_service_and_ci() -> None:
    query = SimilarQuery(text="vpn", service="VPN ", ci="fw-1", exclude="INC0000009", limit=3)
    found = rank(
        query,
        [
            Candidate(number="INC0000001", short_description="a", text_score=8.0),
            Candidate(number="INC0000002", short_description="b", text_score=4.0, ci="FW-1"),
            Candidate(number="INC0000003", short_description="c", service="vpn"),
            Candidate(number="INC0000002", short_description="b", ci="FW-1"),  # found twice
            Candidate(number="INC0000009", short_description="itself", text_score=9.0),
            Candidate(number="INC0000004", short_description="d", service="mail"),
        ],
    )
    assert [(s.number, s.score, s.why) for s in found] == [
        ("INC0000002", 1.25, ["text", "ci"]),  # half the best text score, and the same CI
        ("INC0000001", 1.0, ["text"]),
        ("INC0000003", 0.5, ["service"]),  # the same service, whatever its case and spaces
    ]


def clock(name: str, due: datetime | None, **fields: Any) -> SlaClock:
    return SlaClock(name=name, target_seconds=60, calendar="24x7", due_at=due, **fields)


def test_the_nearest_running_clock_decides() -> None:
    both = make_view(
        "INC0000001",
        response_sla=clock("response", T0 + timedelta(hours=2)),
        resolution_sla=clock("resolution", T0 + timedelta(hours=1)),
    )
    nearest = queues.nearest_breach(both)
    assert nearest is not None and nearest.name == "resolution"
    paused = make_view(
        "INC0000002",
        response_sla=clock("response", None, stopped_at=T0),
        resolution_sla=clock("resolution", None, paused_since=T0),
    )
    assert queues.nearest_breach(paused) is None


def test_remaining_time_in_words() -> None:
    assert queues.remaining_text(45) == "45s"
    assert queues.remaining_text(25 * 60 + 5) == "25m"
    assert queues.remaining_text(2 * 3600 + 5 * 60) == "2h 05m"
    assert queues.remaining_text(3 * 86_400 + 4 * 3600) == "3d 4h"
    assert queues.remaining_text(-12 * 60) == "overdue 12m"
