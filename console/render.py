"""Templates and how values show in them.

Jinja's autoescape escapes every value; `finalize` runs first on every `{{ ... }}` and takes out
the characters that would make text misrender: bidirectional overrides and isolates (which can
make a line read backwards, or as something else than it is), zero-width and control characters
(line breaks and tabs stay). The stylesheet isolates each user text too (`.user-text`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from console import session
from domain import queues

TEMPLATES = Path(__file__).with_name("templates")
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def neutral(text: str) -> str:
    return _UNSAFE.sub("\ufffd", text)


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return neutral(value)


def duration(seconds: float | None) -> str:
    """`2h 05m`, `3d 4h`, `45s`; past due: `overdue 12m` (the queues' own words)."""
    return "-" if seconds is None else queues.remaining_text(seconds)


def when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def label(value: Any) -> str:
    """An enum or snake_case name in words: `in_progress` -> `in progress`."""
    text = str(getattr(value, "value", value) or "")
    return text.replace("_", " ")


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(duration=duration, when=when, label=label)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page (or a fragment) with what every template needs: the CSRF token and the reader."""
    current = session.anonymous(request)
    context.setdefault("principal", None)
    context.setdefault("majors", [])
    body = environment.get_template(template).render(
        request=request, csrf_token=current.csrf, csrf_field=session.CSRF_FIELD, **context
    )
    response = HTMLResponse(body, status_code=status_code)
    session.persist_new(request, response)
    return response
