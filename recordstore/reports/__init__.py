"""The summary report: ITIL KPIs over a time window, read from the record store.

`models` holds the API's request and response models, `queries` the SQL and the figures.

The window is half-open, `[from, to)`; the API's default is the 30 days up to now (without
`to`: now; without `from`: 30 days before `to`). Every figure says which incidents it
counts; they differ on purpose, because each KPI is about a different moment in an
incident's life:

- `counts`: incidents *created* in the window, by their current status, priority, category and
  group.
- `mtta`: incidents *first started* in the window (`started_at`), create -> first start.
- `mttr`, `mttr_with_pauses`, `reopen_rate`, `reassignments`, `first_contact_resolution`,
  `survey`: incidents *resolved* in the window (first-contact resolution only those resolved
  on their own: not by a parent's cascade, not as a duplicate; of them, the ones never
  reassigned) (`resolved_at`: the latest resolution; closed
  incidents keep theirs, a reopen clears it until the incident is resolved again).
- `response_sla`, `resolution_sla`, `breaches`: SLA clocks whose *outcome* falls in the window:
  the breach time for a breached clock, the time it was met for a met clock. So each clock is
  counted once, in the window of its outcome, and a clock without an outcome yet is not counted.
- `backlog`: incidents *open at `min(to, now)`* (`as_of`), whenever they were created.
- `closed`: incidents *closed* in the window (`closed_at`), by close code: `confirmed` (the
  caller or automation), `auto` (the auto-close timer) and `closed_by_agent` (an agent or
  manager on the caller's behalf) apart, and `no_response` (resolved because the caller never
  answered, whatever the close code) apart from those.

The `group` and `priority` filters apply to every figure and match the incident's current
assignment group and priority. Durations are wall-clock seconds, not business hours, each
also as `h:mm` text.
"""

from recordstore.reports.models import (
    Backlog,
    Breaches,
    Counts,
    DurationStats,
    Ratio,
    Reassignments,
    ReportQuery,
    SlaCompliance,
    SlaReport,
    SummaryReport,
    SurveyStats,
)
from recordstore.reports.queries import summary

__all__ = [
    "Backlog",
    "Breaches",
    "Counts",
    "DurationStats",
    "Ratio",
    "Reassignments",
    "ReportQuery",
    "SlaCompliance",
    "SlaReport",
    "SummaryReport",
    "SurveyStats",
    "summary",
]
