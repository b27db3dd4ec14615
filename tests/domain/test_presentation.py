"""What operators read in the Temporal UI is plain text, whatever a caller typed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.presentation import current_details, plain, summary
from tests.support.factories import new_incident

HOSTILE = (
    "**Pay**roll <script>alert(1)</script> \u202eevil\u202c [click](http://x.test) `code`"
    " # heading \x00\x1b[31m\u200b\ufeffdone"
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (HOSTILE, "Payroll alert(1) evil click code heading 31m done"),
        ("db_01 disk 95% > limit < 100", "db_01 disk 95% > limit < 100"),
        ("> quoted\n# title", "quoted title"),
        ("", ""),
        (None, ""),
    ],
)
def test_plain_text(text: str | None, shown: str) -> None:
    assert plain(text) == shown


def test_summary_and_current_details_carry_no_markup_or_bidi() -> None:
    state = new_incident(short_description=HOSTILE[:160])
    state.assignment_group = "desk\u202e<b>ops</b>"
    line = summary(state)
    details = current_details(state, datetime.now(UTC))
    for shown in (line, details):
        assert "\u202e" not in shown and "<script>" not in shown and "<b>" not in shown
        assert "\x00" not in shown and "\x1b" not in shown
    assert line.endswith("- Payroll alert(1) evil click code heading 31m done")
    assert "group: desk ops," in details
