"""Every name Temporal knows this project by, written once for senders and receivers alike.

Workflow types and ids, Update, Signal and Query names, activity names. Changing one breaks
running incidents and the histories in tests/histories/: these are part of the contract.
Pure: imported by the workflows, the activities, the API and the tests.
"""

from __future__ import annotations

# --- incident numbers ---------------------------------------------------------------------

INCIDENT_NUMBER_PATTERN = r"^INC\d{7}$"

# --- workflows ----------------------------------------------------------------------------

INCIDENT_WORKFLOW = "IncidentWorkflow"
ALERT_WORKFLOW = "AlertWorkflow"


def incident_workflow_id(number: str) -> str:
    return f"incident-{number}"


def alert_workflow_id(source: str, dedup_key: str) -> str:
    return f"alert-{source}:{dedup_key}"


# --- incident workflow: queries -----------------------------------------------------------

VIEW_QUERY = "view"
TIMELINE_QUERY = "timeline"
TIMELINE_WINDOW_QUERY = "timeline_window"

# --- incident workflow: event signals (transitions are Updates and Signals named by their
# action, `domain.models.Action`; a hyphen in place of an underscore is accepted too) -------

CHILD_LINKED_SIGNAL = "child_linked"
PARENT_RESOLVED_SIGNAL = "parent_resolved"
PARENT_REOPENED_SIGNAL = "parent_reopened"
VENDOR_UPDATE_SIGNAL = "vendor_update"
ALERT_SIGNAL = "alert"
ATTACHMENT_ADDED_SIGNAL = "attachment_added"
DUPLICATE_LINKED_SIGNAL = "duplicate_linked"

# --- incident workflow: patches (workflow.patched ids; never reuse one) -------------------

CALLER_COMMENTS_NOTIFY_PATCH = "caller-comments-notify-assignee"
SIMILAR_INCIDENTS_PATCH = "similar-incidents-at-create"
CORRELATION_PATCH = "correlate-on-create"
PLAYBOOKS_PATCH = "incident-model-playbooks"

# --- alert router workflow ----------------------------------------------------------------

ALERT_UPDATE = "alert"
INCIDENT_CLOSED_SIGNAL = "incident_closed"
INCIDENT_RESOLUTION_SIGNAL = "incident_resolution"  # resolved or reopened: flapping

# --- activities ---------------------------------------------------------------------------

UPSERT_INCIDENT_RECORD = "upsert_incident_record"
ALLOCATE_INCIDENT_NUMBER = "allocate_incident_number"
SEND_NOTIFICATION = "send_notification"
LOOKUP_KNOWN_ERRORS = "lookup_known_errors"
LOOKUP_SIMILAR_INCIDENTS = "lookup_similar_incidents"
PROPOSE_PROBLEM = "propose_problem"
OPEN_BRIDGE = "open_bridge"
CREATE_VENDOR_TICKET = "create_vendor_ticket"
CORRELATE_INCIDENTS = "correlate_incidents"
RUN_PLAYBOOK_HTTP = "run_playbook_http"

# --- inbound mail -------------------------------------------------------------------------


def inbound_request_id(message_id: str) -> str:
    """The request id of what an inbound mail does: the same mail is applied once."""
    return f"mail:{message_id}"[:200]
