"""The record store's tables (SQLAlchemy Core): the same definitions on SQLite and PostgreSQL.

What the queries read and write. The database gets them from the migrations
(recordstore/migrations/versions/): a change here goes with a new revision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()

INCIDENT_COUNTER = "incident"


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out. SQLite stores no offset, so values are converted to UTC
    before they are written and marked as UTC when they are read back."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the record store")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("principal", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("number", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("number", sa.String(16), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("priority", sa.String(8), nullable=False, index=True),
    sa.Column("assignment_group", sa.Text, index=True),
    sa.Column("assignee", sa.Text, index=True),
    sa.Column("caller", sa.Text, nullable=False, index=True),
    sa.Column("category", sa.Text),
    sa.Column("major", sa.Boolean, nullable=False),
    sa.Column("breached", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False, index=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime, index=True),
    sa.Column("closed_at", UtcDateTime),
    # The moments the reports select by (recordstore/reports/queries.py); the view holds the rest.
    sa.Column("started_at", UtcDateTime, index=True),
    sa.Column("canceled_at", UtcDateTime),
    sa.Column("response_stopped_at", UtcDateTime, index=True),
    sa.Column("response_breached_at", UtcDateTime, index=True),
    sa.Column("resolution_breached_at", UtcDateTime, index=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("view", sa.JSON, nullable=False),
    # Revision 0005: list filters, the searched text (public comments only, never work notes)
    # and the queues' order: the due time of the running SLA clock nearest to breaching.
    sa.Column("service", sa.Text, index=True),
    sa.Column("ci", sa.Text, index=True),  # the configuration item (GET /cis/{id})
    sa.Column("short_description", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("public_comments", sa.Text),
    sa.Column("next_breach_at", UtcDateTime, index=True),
    sa.Column("next_breach_clock", sa.String(16)),
)

# Incident full text, the KEDB's two engines again (recordstore/incident_search.py):
# PostgreSQL a GIN index over this weighted document (the search repeats the exact expression);
# SQLite an FTS5 table with rowid = the number's digits, written with the row.
INCIDENT_TSVECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(short_description, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(public_comments, '')), 'C')"
)
INCIDENTS_FTS = "incidents_fts"
INCIDENTS_SEARCH_INDEX = "ix_incidents_search"

timeline_entries = sa.Table(
    "timeline_entries",
    metadata,
    sa.Column("number", sa.String(16), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("from_status", sa.String(32)),
    sa.Column("to_status", sa.String(32)),
    sa.Column("details", sa.JSON, nullable=False),
)

# Large event details (an alert's), kept once per content: the incident's workflow state and
# timeline hold only their digest, size and a preview (domain/bounds.py).
event_payloads = sa.Table(
    "event_payloads",
    metadata,
    sa.Column("digest", sa.String(80), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("bytes", sa.Integer, nullable=False),
    sa.Column("stored_at", UtcDateTime, nullable=False),
)

# --- KEDB and problem records -----------------------------------------------------------------

KNOWN_ERROR_COUNTER = "known_error"
PROBLEM_COUNTER = "problem"

known_errors = sa.Table(
    "known_errors",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    # The id's number: the rowid of the SQLite full-text index and the order of lists.
    sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("symptoms", sa.Text, nullable=False),
    sa.Column("category", sa.Text),
    sa.Column("service", sa.Text),
    sa.Column("workaround", sa.Text),
    sa.Column("root_cause", sa.Text),
    sa.Column("problem_ref", sa.Text),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    # Unique: one incident becomes at most one known error (NULLs do not collide).
    sa.Column("source_incident", sa.String(16), unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# The weighted document PostgreSQL searches: title A, symptoms B, workaround and root cause C.
# The search query repeats this exact expression so that the planner uses the GIN index.
KNOWN_ERROR_TSVECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, coalesce(symptoms, '')), 'B')"
    " || setweight(to_tsvector('english'::regconfig,"
    " coalesce(workaround, '') || ' ' || coalesce(root_cause, '')), 'C')"
)
# SQLite: an external-content FTS5 table over known_errors (rowid = seq). The record store
# writes it in the same transaction as the row; the porter stemmer matches word forms.
# Both search indexes are created by the migrations (recordstore/migrations/versions/).
KNOWN_ERRORS_FTS = "known_errors_fts"

problems = sa.Table(
    "problems",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
    # One problem per incident: a second proposal for the same incident finds the first.
    sa.Column("number", sa.String(16), nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("category", sa.Text),
    sa.Column("service", sa.Text),
    sa.Column("resolution_code", sa.String(32), nullable=False),
    sa.Column("resolution_notes", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# --- vendor tickets -----------------------------------------------------------------------------

# Which incident a vendor's ticket belongs to, so the vendor's webhook finds the workflow.
vendor_tickets = sa.Table(
    "vendor_tickets",
    metadata,
    sa.Column("vendor", sa.Text, primary_key=True),
    sa.Column("ticket_id", sa.Text, primary_key=True),
    sa.Column("number", sa.String(16), nullable=False, index=True),
)

# --- idempotent requests and parent links (revision 0002) ---------------------------------------

# Every POST and PATCH sent with an Idempotency-Key: who sent it, what it was, and once answered,
# the answer (status and body) that a retry with the same key gets back.
idempotent_requests = sa.Table(
    "idempotent_requests",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("principal", sa.Text, nullable=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("body_hash", sa.String(64), nullable=False),
    sa.Column("claimed_at", UtcDateTime, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("content_type", sa.Text),
    sa.Column("response_body", sa.LargeBinary),
    sa.Column("answered_at", UtcDateTime),
)

# Parent/child links, the one place that decides them: a new link is checked for cycles over
# the whole table and inserted in one serialised transaction (api/service/relations.py).
incident_links = sa.Table(
    "incident_links",
    metadata,
    sa.Column("child", sa.String(16), primary_key=True),
    sa.Column("parent", sa.String(16), nullable=False, index=True),
    sa.Column("linked_at", UtcDateTime, nullable=False),
)

# Callers affected by an incident besides its caller (revision 0007): written from the
# `affected` timeline entries, read by the caller filter of lists (a requester's own incidents).
affected_callers = sa.Table(
    "affected_callers",
    metadata,
    sa.Column("number", sa.String(16), primary_key=True),
    sa.Column("caller", sa.Text, primary_key=True, index=True),
    sa.Column("added_at", UtcDateTime, nullable=False),
)

# Console sessions signed out before their cookie expires (console/session.py).
console_sign_outs = sa.Table(
    "console_sign_outs",
    metadata,
    sa.Column("session", sa.String(64), primary_key=True),
    sa.Column("until", UtcDateTime, nullable=False),
)

# --- e-mail and attachments (contract 13) ------------------------------------------------------

# Every message the mail listener or the IMAP poller received, stored before the SMTP 250 (or
# before the IMAP message is marked seen): the durable hand-over. One row per Message-ID (its
# digest is the key), so the same mail is applied once; `status` is pending until applied.
inbound_mail = sa.Table(
    "inbound_mail",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("message_id", sa.Text, nullable=False),
    sa.Column("sender", sa.Text, nullable=False, index=True),
    sa.Column("received_at", UtcDateTime, nullable=False, index=True),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("number", sa.String(16)),
    sa.Column("outcome", sa.Text),
    sa.Column("applied_at", UtcDateTime),
)

# The Message-IDs of the mails incidentflow sent, per incident: a reply's In-Reply-To or
# References finds its incident here, and a mail of our own coming back is recognised.
sent_mail = sa.Table(
    "sent_mail",
    metadata,
    sa.Column("message_id", sa.String(255), primary_key=True),
    sa.Column("number", sa.String(16), nullable=False, index=True),
    sa.Column("sent_at", UtcDateTime, nullable=False),
)

# Files attached to incidents: the bytes live in a content-addressed directory
# (INCIDENTFLOW_ATTACHMENTS_DIR/<sha256[:2]>/<sha256>); this table says whose they are.
attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("number", sa.String(16), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("uploaded_by", sa.Text, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("added_at", UtcDateTime, nullable=False),
)

# --- correlation (contract 15) ----------------------------------------------------------------

# Every incident opened with a correlation key ("ci:<id>", "service:<name>"), and when.
correlation_members = sa.Table(
    "correlation_members",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("number", sa.String(16), primary_key=True),
    sa.Column("opened_at", UtcDateTime, nullable=False, index=True),
)

# One row per key and window: the suggestion (or parent) made once for that burst.
correlations = sa.Table(
    "correlations",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("window_start", UtcDateTime, primary_key=True),
    sa.Column("window_end", UtcDateTime, nullable=False),
    sa.Column("trigger", sa.String(16), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("members", sa.JSON, nullable=False),
    sa.Column("parent", sa.String(16)),
)
