"""Reply templates (contract 14): agreed replies for the service desk's recurring and difficult
cases, one Markdown file each under `templates/replies/`, with YAML front matter:

    ---
    title: Awaiting information from you
    audience: caller              # caller, stakeholders or agents
    tags: [pending]
    vars:                         # what the agent fills in, with a hint each
      question: what we need to know
    ---
    Hello {caller_name}, ... {question} ...

Placeholders are plain names in braces: the incident's fields (`INCIDENT_PLACEHOLDERS`) and the
template's own `vars`; `{{` and `}}` are literal braces. Nothing else is a placeholder: no
attribute or index access (`{x.y}`, `{x[0]}`), conversions or format specs, so a template can
only ever print strings it is handed. Every file is checked when it is loaded (an unknown
placeholder names the file and the name), and `render` refuses a missing or unknown value.

Pure but for `load_templates`, which reads the folder once, at start-up.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import frontmatter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from yaml import YAMLError

from domain.directory import Directory
from domain.messages import summary
from domain.models import IncidentFields

TEMPLATE_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
PLACEHOLDER_NAME = r"^[a-z][a-z0-9_]{0,63}$"
_PLACEHOLDER = re.compile(PLACEHOLDER_NAME)

# What every template may use, from the incident as it is when the reply is rendered.
INCIDENT_PLACEHOLDERS: dict[str, str] = {
    "number": "the incident number, e.g. INC0001042",
    "short_description": "the incident's short description",
    "caller_name": "the caller's display name from the directory",
    "assignee_name": "the assignee's display name; the group's while nobody is assigned",
    "group": "the assignment group's display name ('the service desk' while there is none)",
    "priority": "P1 to P5",
    "status": "the state in words: new, assigned, in progress, pending, resolved, ...",
    "due": "when resolution is due, e.g. 'Tue 1 Dec 2026, 17:00 UTC' ('to be confirmed' while "
    "the clock is paused)",
    "resolution_notes": "what was done to resolve it (empty before resolution)",
}
NO_GROUP = "the service desk"
NO_DUE_TIME = "to be confirmed"


class Audience(StrEnum):
    CALLER = "caller"
    STAKEHOLDERS = "stakeholders"
    AGENTS = "agents"


class ReplyTemplateError(ValueError):
    """A template file is unreadable or wrong; the message names the file and what is wrong."""


class ReplyRenderError(ValueError):
    """A reply cannot be rendered; `names` are the placeholders concerned."""

    def __init__(self, message: str, names: list[str]) -> None:
        super().__init__(message)
        self.message, self.names = message, names


class UnknownPlaceholder(ReplyRenderError):
    """A value was given, or a placeholder used, that the template does not know."""


class MissingValue(ReplyRenderError):
    """A placeholder of the template has no value."""


PlaceholderName = Annotated[str, StringConstraints(pattern=PLACEHOLDER_NAME)]


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)]
    audience: Audience
    tags: tuple[Annotated[str, StringConstraints(min_length=1, max_length=40)], ...] = ()
    vars: dict[PlaceholderName, str] = Field(
        default={}, description="the values the agent supplies, each with a hint"
    )


class ReplyTemplate(FrontMatter):
    name: str
    body: str
    placeholders: tuple[str, ...] = Field(description="in order of first use in the body")


def placeholders_of(body: str) -> list[str]:
    """The placeholder names of a body, in order of first use; ValueError says what is not a
    plain name (attribute or index access, a conversion, a format spec, a stray brace)."""
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError as error:
        raise ValueError(f"{error} (write {{{{ or }}}} for a literal brace)") from None
    names: list[str] = []
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if conversion or spec:
            raise ValueError(f"'{{{field}...}}': placeholders take no conversion or format")
        if not _PLACEHOLDER.match(field):
            raise ValueError(
                f"'{{{field}}}' is not a plain placeholder name (lower-case letters, digits, _; "
                "no attribute or index access)"
            )
        if field not in names:
            names.append(field)
    return names


def parse_template(name: str, text: str, source: str) -> ReplyTemplate:
    """One template file's text; ReplyTemplateError names `source` and the problem."""
    if not re.match(TEMPLATE_NAME, name):
        raise ReplyTemplateError(
            f"{source}: the file name '{name}' is not a template name (lower-case letters, "
            "digits, - and _)"
        )
    try:
        metadata, body = frontmatter.parse(text)
        front = FrontMatter.model_validate(metadata)
        used = placeholders_of(body)
    except YAMLError as error:
        raise ReplyTemplateError(f"{source}: front matter is not valid YAML: {error}") from None
    except ValidationError as error:
        problems = summary(error, "front matter")
        raise ReplyTemplateError(f"{source}: front matter: {problems}") from None
    except ValueError as error:
        raise ReplyTemplateError(f"{source}: {error}") from None
    if not body.strip():
        raise ReplyTemplateError(f"{source}: the template has no text")
    clashing = sorted(set(front.vars) & INCIDENT_PLACEHOLDERS.keys())
    if clashing:
        raise ReplyTemplateError(
            f"{source}: vars {', '.join(clashing)}: already incident placeholders"
        )
    unknown = [n for n in used if n not in INCIDENT_PLACEHOLDERS and n not in front.vars]
    if unknown:
        raise ReplyTemplateError(
            f"{source}: unknown placeholders {', '.join('{' + n + '}' for n in unknown)}: "
            "neither incident placeholders nor declared in `vars`"
        )
    unused = [n for n in front.vars if n not in used]
    if unused:
        raise ReplyTemplateError(f"{source}: vars {', '.join(unused)}: not used in the text")
    return ReplyTemplate(**front.model_dump(), name=name, body=body, placeholders=tuple(used))


def load_templates(folder: Path) -> dict[str, ReplyTemplate]:
    """Every `*.md` of the folder by name (the file name without `.md`), checked; a bad file is
    a ReplyTemplateError naming it. A folder that does not exist is an error too."""
    if not folder.is_dir():
        raise ReplyTemplateError(f"{folder}: the reply templates folder does not exist")
    templates: dict[str, ReplyTemplate] = {}
    for path in sorted(folder.glob("*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ReplyTemplateError(f"{path}: cannot read the template: {error}") from None
        templates[path.stem] = parse_template(path.stem, text, str(path))
    return templates


def render(
    template: ReplyTemplate, incident_fields: Mapping[str, str], vars: Mapping[str, str]
) -> str:
    """The template's text with its placeholders filled in: incident fields and the caller's
    vars. A var the template does not declare is an UnknownPlaceholder (a typo would otherwise
    pass silently); a declared one not given, a MissingValue."""
    unknown = sorted(set(vars) - set(template.vars))
    if unknown:
        declared = ", ".join(template.vars) or "none"
        raise UnknownPlaceholder(
            f"template {template.name} has no placeholder {', '.join(unknown)} "
            f"(its vars: {declared})",
            unknown,
        )
    values = {**incident_fields, **vars}
    missing = [name for name in template.placeholders if name not in values]
    if missing:
        raise MissingValue(
            f"template {template.name} needs a value for {', '.join(missing)}", missing
        )
    pieces = []
    for literal, field, _, _ in string.Formatter().parse(template.body):
        pieces.append(literal)
        if field is not None:
            pieces.append(values[field])
    return "".join(pieces).strip()


def incident_fields(view: IncidentFields, directory: Directory) -> dict[str, str]:
    """The incident placeholders' values for this incident, names shown as the directory has
    them."""
    group = _group_name(view.assignment_group, directory) if view.assignment_group else NO_GROUP
    due_at = view.resolution_sla.due_at
    return {
        "number": view.number,
        "short_description": view.short_description,
        "caller_name": directory.display_name(view.caller),
        "assignee_name": directory.display_name(view.assignee) if view.assignee else group,
        "group": group,
        "priority": view.priority.value,
        "status": view.status.value.replace("_", " "),
        "due": human_time(due_at) if due_at else NO_DUE_TIME,
        "resolution_notes": view.resolution_notes or "",
    }


def human_time(moment: datetime) -> str:
    """'Tue 1 Dec 2026, 17:00 UTC': a due time as a person reads it."""
    moment = moment.astimezone(UTC)
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M} UTC"


def _group_name(group: str, directory: Directory) -> str:
    found = directory.groups.get(group)
    return (found.display_name or group) if found else group
