"""What an incident keeps stays small whatever its life: large details become digests, the
timeline window is bounded in bytes, and a storm while the record store is away coalesces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from domain import bounds, lifecycle
from domain.messages import decode
from domain.models import AlertInfo, CommentRequest
from domain.relations import AlertEvent, alert_repeated
from tests.support.factories import new_incident

BLOB = "x" * 64_000
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_small_details_are_kept_as_they_are() -> None:
    details = {"host": "db01", "value": 97.5, "labels": ["a", "b"]}
    assert bounds.bounded(details) is details


def test_a_large_field_becomes_a_digest_beside_the_small_ones() -> None:
    kept = bounds.bounded({"host": "db01", "blob": BLOB})
    assert kept["host"] == "db01"
    assert kept["blob"]["truncated"] is True
    assert kept["blob"]["bytes"] == len(BLOB) + 2  # the JSON string's quotes
    assert kept["blob"]["digest"] == bounds.bounded({"blob": BLOB})["blob"]["digest"]
    assert len(bounds.canonical(kept)) <= bounds.INLINE_DETAILS_BYTES


def test_many_small_fields_become_one_digest() -> None:
    many = {f"k{index}": "v" * 100 for index in range(2000)}
    kept = bounds.bounded(many)
    assert set(kept) == {"digest", "bytes", "preview", "truncated"}


def alert(index: int) -> AlertEvent:
    return AlertEvent(
        source="prometheus",
        dedup_key="db01/disk",
        action="trigger",
        summary="Disk full",
        severity="error",
        details={"seq": index, "blob": BLOB},
        received_at=NOW + timedelta(seconds=index),
    )


def alerted_incident():  # type: ignore[no-untyped-def]
    state = new_incident(now=NOW)
    state.alert = AlertInfo(
        source="prometheus", dedup_key="db01/disk", severity="error", first_seen=NOW, last_seen=NOW
    )
    return state


def test_five_thousand_large_repeats_with_the_record_store_away_stay_small() -> None:
    state = alerted_incident()
    for index in range(5_000):
        alert_repeated(state, alert(index), NOW + timedelta(seconds=index))
    assert state.alert is not None and state.alert.occurrences == 5_001  # each one counted
    size = len(state.model_dump_json())
    assert size < 1_000_000, size  # far below Temporal's 2 MB
    repeats = [entry for entry in state.timeline if entry.kind == "alert_repeated"]
    assert len(repeats) <= lifecycle.BACKLOG_ENTRIES + 1
    assert sum(entry.details.get("coalesced", 1) for entry in repeats) == 5_000
    print(f"state after 5,000 x 64 KB repeats, record store away: {size:,} bytes")


def test_once_recorded_the_window_is_bounded_in_bytes_and_entries() -> None:
    state = alerted_incident()
    for index in range(3_000):
        alert_repeated(state, alert(index), NOW + timedelta(seconds=index))
        state.recorded_timeline = state.dispatched_timeline = state.timeline_offset + len(
            state.timeline
        )
        lifecycle.trim_timeline(state)
    window = sum(len(entry.model_dump_json()) for entry in state.timeline)
    assert window <= lifecycle.TIMELINE_BYTES
    assert len(state.timeline) <= 2 * lifecycle.TIMELINE_KEPT
    assert state.timeline_offset + len(state.timeline) == 3_001  # nothing lost from the count
    assert not any("coalesced" in entry.details for entry in state.timeline)


def test_the_workflow_decoder_refuses_an_unpaired_surrogate() -> None:
    payload = Payload(metadata={"encoding": b"json/plain"}, data=b'{"text": "Hi \\ud800"}')
    with pytest.raises(ApplicationError) as raised:
        decode(CommentRequest, [RawValue(payload)], pydantic_data_converter.payload_converter)
    assert raised.value.details[0]["field"] in ("text", "body")
