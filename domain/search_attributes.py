"""The custom search attributes of an incident workflow: the one list of them.

Workflow code upserts these keys, the API filters on them, `devrun` registers them on the
dev server and `docker-compose.yml` registers them on production Temporal (a test checks the
compose file against `ALL_KEYS`). Imported by workflow code, so: no I/O.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

INCIDENT_NUMBER = SearchAttributeKey.for_keyword("IncidentNumber")
INCIDENT_STATUS = SearchAttributeKey.for_keyword("IncidentStatus")
INCIDENT_PRIORITY = SearchAttributeKey.for_keyword("IncidentPriority")
INCIDENT_GROUP = SearchAttributeKey.for_keyword("IncidentGroup")
INCIDENT_ASSIGNEE = SearchAttributeKey.for_keyword("IncidentAssignee")
INCIDENT_CATEGORY = SearchAttributeKey.for_keyword("IncidentCategory")
INCIDENT_CALLER = SearchAttributeKey.for_keyword("IncidentCaller")
INCIDENT_MAJOR = SearchAttributeKey.for_bool("IncidentMajor")
INCIDENT_BREACHED = SearchAttributeKey.for_bool("IncidentBreached")

ALL_KEYS: tuple[SearchAttributeKey[Any], ...] = (
    INCIDENT_NUMBER,
    INCIDENT_STATUS,
    INCIDENT_PRIORITY,
    INCIDENT_GROUP,
    INCIDENT_ASSIGNEE,
    INCIDENT_CATEGORY,
    INCIDENT_CALLER,
    INCIDENT_MAJOR,
    INCIDENT_BREACHED,
)

# The type names the `temporal` CLI accepts (`--search-attribute Name=Type`, `--type Type`).
CLI_TYPE_NAMES: dict[SearchAttributeIndexedValueType, str] = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}


def cli_type_name(key: SearchAttributeKey[Any]) -> str:
    """The `temporal` CLI's name for the type of `key`, e.g. "Keyword"."""
    return CLI_TYPE_NAMES[key.indexed_value_type]


def cli_flags() -> list[str]:
    """Flags for `temporal server start-dev` that register every key in `ALL_KEYS`."""
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={cli_type_name(key)}"]
    return flags
