"""Reply templates (contract 14): listing them, and a `comment` written from one. The API renders
the template against the incident as it is now and sends the comment with the rendered text, so
the workflow, the timeline and the caller's notification see ordinary text (and the template's
name in the comment's details). Requesters write their own words: a template from them is a 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from api.auth import Principal
from api.service.context import Services
from api.service.errors import Forbidden, NotFound, Unprocessable
from domain import replies
from domain.models import IncidentView, Strict, Text, Visibility
from domain.replies import PLACEHOLDER_NAME, TEMPLATE_NAME, Audience, ReplyTemplate

TemplateName = Annotated[str, StringConstraints(pattern=TEMPLATE_NAME)]
VarName = Annotated[str, StringConstraints(pattern=PLACEHOLDER_NAME)]
VarValue = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
TEXT_LIMIT = 4000  # domain.models.Text

# Where a reply goes when the body does not say: to the people the template speaks to.
VISIBILITY_FOR = {
    Audience.CALLER: Visibility.PUBLIC,
    Audience.STAKEHOLDERS: Visibility.PUBLIC,
    Audience.AGENTS: Visibility.WORK_NOTE,
}


class CommentBody(Strict):
    """A public comment or a work note: its `text`, or a reply `template` (see
    `GET /reply-templates`) and the `vars` it asks for. With a template and no `visibility`,
    the template's audience decides it: public for the caller and stakeholders, a work note
    for agents."""

    text: Text | None = None
    visibility: Visibility = Visibility.WORK_NOTE
    template: TemplateName | None = Field(default=None, examples=["awaiting-information"])
    vars: dict[VarName, VarValue] = Field(
        default={}, max_length=20, examples=[{"question": "Which printer do you use?"}]
    )


class ReplyTemplates(BaseModel):
    items: list[ReplyTemplate]


def list_templates(services: Services) -> ReplyTemplates:
    return ReplyTemplates(items=list(services.replies.values()))


def get_template(services: Services, name: str) -> ReplyTemplate:
    found = services.replies.get(name)
    if found is None:
        raise NotFound(f"reply template {name} not found")
    return found


async def comment_fields(
    services: Services,
    principal: Principal,
    body: BaseModel,
    live_view: Callable[[], Awaitable[IncidentView]],
) -> dict[str, Any]:
    """The comment request's fields from the body: its text as sent, or the template rendered
    against the incident's live fields (`live_view`)."""
    sent = body.model_dump(exclude_unset=True)
    template_name, values = sent.pop("template", None), sent.pop("vars", None)
    if template_name is None:
        if values is not None:
            raise Unprocessable("vars", "vars go with a template; send `template` too")
        if "text" not in sent:
            raise Unprocessable("text", "Field required: send text, or a template and its vars")
        return sent
    if principal.requester_only:
        raise Forbidden("reply templates are for the support staff; write your own words")
    if "text" in sent:
        raise Unprocessable("template", "send either text or a template, not both")
    template = services.replies.get(template_name)
    if template is None:
        known = ", ".join(services.replies) or "none"
        raise Unprocessable("template", f"no reply template '{template_name}' (known: {known})")
    fields = replies.incident_fields(await live_view(), services.directory)
    try:
        text = replies.render(template, fields, values or {})
    except replies.ReplyRenderError as error:
        raise Unprocessable("vars", error.message) from None
    if len(text) > TEXT_LIMIT:
        problem = f"the rendered reply has {len(text)} characters; a comment takes {TEXT_LIMIT}"
        raise Unprocessable("vars", problem)
    visibility = sent.get("visibility", VISIBILITY_FOR[template.audience])
    return {"text": text, "visibility": visibility, "template": template.name}
