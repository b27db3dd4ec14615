"""Reply templates (contract 14): the shipped files load and read well, placeholders are plain
names, and rendering refuses unknown and missing values, naming them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.settings import DEFAULT_REPLY_TEMPLATES_DIR, PROJECT_DIR, Settings, load_reply_templates
from domain import lifecycle
from domain.directory import parse_directory
from domain.models import Action, AssignRequest, IncidentState
from domain.replies import (
    INCIDENT_PLACEHOLDERS,
    MissingValue,
    ReplyTemplateError,
    UnknownPlaceholder,
    incident_fields,
    load_templates,
    parse_template,
    render,
)
from tests.support.factories import new_incident

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
DIRECTORY = parse_directory((PROJECT_DIR / "tests" / "support" / "directory.toml").read_text())
SHIPPED = load_templates(DEFAULT_REPLY_TEMPLATES_DIR)
WORKAROUND = """---
title: Workaround
audience: caller
vars:
  workaround: the steps
---
Hello {caller_name}, about {number}: {workaround} {{literally}}
"""


def template(body: str, front: str = "title: T\naudience: caller") -> str:
    return f"---\n{front}\n---\n{body}\n"


def assigned_state() -> IncidentState:
    state = new_incident(now=NOW, caller="alice", short_description="VPN drops", impact=1)
    request = AssignRequest(group="service-desk", assignee="sam")
    lifecycle.apply(state, Action.ASSIGN, request, NOW)
    return state


def test_the_shipped_templates_load_with_the_settings_default() -> None:
    loaded = load_reply_templates(Settings())
    assert set(loaded) >= {
        "awaiting-information",
        "manager-requested",
        "out-of-scope",
        "workaround-given",
        "known-issue",
        "resolved-please-confirm",
    }
    for found in loaded.values():
        assert found.title and found.audience
        assert set(found.placeholders) <= INCIDENT_PLACEHOLDERS.keys() | found.vars.keys()


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_shipped_template_speaks_to_a_person(name: str) -> None:
    found = SHIPPED[name]
    fields = incident_fields(assigned_state(), DIRECTORY)
    text = render(found, fields, {var: f"<{var}>" for var in found.vars})
    assert "{" not in text and "}" not in text
    for word in ("API", "endpoint", "POST", "curl", "http", "signal", "workflow"):
        assert word not in text, f"{name} mentions {word}"
    if found.audience == "caller":
        assert text.startswith("Hello Alice Martin,")


def test_render_fills_incident_fields_and_vars() -> None:
    found = parse_template("workaround", WORKAROUND, "workaround.md")
    assert found.placeholders == ("caller_name", "number", "workaround")
    text = render(found, {"caller_name": "Alice", "number": "INC0000001"}, {"workaround": "Use X"})
    assert text == "Hello Alice, about INC0000001: Use X {literally}"


def test_incident_fields_use_display_names_and_a_readable_due_time() -> None:
    fields = incident_fields(assigned_state(), DIRECTORY)
    assert fields["caller_name"] == "Alice Martin"
    assert fields["assignee_name"] == "Sam Lee"
    assert fields["group"] == "service-desk"
    assert (fields["priority"], fields["status"]) == ("P2", "assigned")
    assert fields["due"] == "Mon 30 Nov 2026, 17:00 UTC"  # P2: 8 h on 24x7
    assert set(fields) == INCIDENT_PLACEHOLDERS.keys()


def test_nobody_assigned_and_a_paused_clock_still_read_as_words() -> None:
    state = new_incident(now=NOW, caller="someone-unknown")
    state.resolution_sla.due_at = None
    fields = incident_fields(state, DIRECTORY)
    assert fields["caller_name"] == "someone-unknown"
    assert fields["assignee_name"] == fields["group"] == "the service desk"
    assert fields["due"] == "to be confirmed"


def test_a_var_the_template_does_not_declare_is_an_unknown_placeholder() -> None:
    found = parse_template("workaround", WORKAROUND, "workaround.md")
    fields = {"caller_name": "A", "number": "INC0000001"}
    with pytest.raises(UnknownPlaceholder) as refused:
        render(found, fields, {"workaround": "x", "workaroud": "typo"})
    assert refused.value.names == ["workaroud"] and "workaroud" in str(refused.value)


def test_a_declared_var_left_out_is_a_missing_value() -> None:
    found = parse_template("workaround", WORKAROUND, "workaround.md")
    with pytest.raises(MissingValue) as refused:
        render(found, {"caller_name": "A", "number": "INC0000001"}, {})
    assert refused.value.names == ["workaround"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("Hi {caller_name.__class__}", "{caller_name.__class__}"),
        ("Hi {caller_name[0]}", "{caller_name[0]}"),
        ("Hi {number!r}", "no conversion or format"),
        ("Hi {number:>20}", "no conversion or format"),
        ("Hi {}", "{}"),
        ("Hi {0}", "{0}"),
        ("Hi {Number}", "{Number}"),
        ("Hi {number", "for a literal brace"),
        ("Hi }", "write {{ or }} for a literal brace"),
        ("Dear {customer}", "unknown placeholders {customer}"),
    ],
)
def test_placeholders_are_plain_known_names(body: str, named: str) -> None:
    with pytest.raises(ReplyTemplateError) as refused:
        parse_template("t", template(body), "replies/t.md")
    assert str(refused.value).startswith("replies/t.md: ") and named in str(refused.value)


@pytest.mark.parametrize(
    ("front", "named"),
    [
        ("audience: caller", "title"),
        ("title: T\naudience: everyone", "audience"),
        ("title: T\naudience: caller\ncolour: red", "colour"),
        ("title: T\naudience: caller\nvars: {number: x}", "vars number: already"),
        ("title: T\naudience: caller\nvars: {unused: x}", "vars unused: not used"),
        ("title: [unclosed\naudience: caller", "not valid YAML"),
    ],
)
def test_front_matter_errors_name_the_file_and_key(front: str, named: str) -> None:
    with pytest.raises(ReplyTemplateError) as refused:
        parse_template("t", template("Hello {number}", front), "replies/t.md")
    assert str(refused.value).startswith("replies/t.md: ") and named in str(refused.value)


def test_a_folder_with_a_bad_file_names_it(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text(WORKAROUND)
    (tmp_path / "Bad Name.md").write_text(WORKAROUND)
    with pytest.raises(ReplyTemplateError, match="Bad Name.md: the file name"):
        load_templates(tmp_path)
    (tmp_path / "Bad Name.md").unlink()
    (tmp_path / "empty.md").write_text(template("  ", "title: T\naudience: agents"))
    with pytest.raises(ReplyTemplateError, match="empty.md: the template has no text"):
        load_templates(tmp_path)
    with pytest.raises(ReplyTemplateError, match="does not exist"):
        load_templates(tmp_path / "missing")
