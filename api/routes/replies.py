"""/reply-templates: the agreed replies agents write comments from (contract 14). Agents,
managers and admins; `POST /incidents/{number}/comment` with `template` and `vars` uses them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import AuthorizedDep, ServicesDep
from api.errors import documented
from api.service import replies
from api.service.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from domain.replies import TEMPLATE_NAME, ReplyTemplate

router = APIRouter(
    prefix="/reply-templates",
    tags=["reply templates"],
    responses=documented(Unauthorized, Forbidden, Unprocessable),
)

TemplateName = Annotated[str, Path(pattern=TEMPLATE_NAME, examples=["awaiting-information"])]


@router.get("", response_model=replies.ReplyTemplates)
async def list_reply_templates(
    services: ServicesDep, principal: AuthorizedDep
) -> replies.ReplyTemplates:
    """Every reply template, by name: title, audience, the placeholders its text uses, the
    `vars` a comment must supply (with a hint each) and the text."""
    return replies.list_templates(services)


@router.get("/{name}", response_model=ReplyTemplate, responses=documented(NotFound))
async def get_reply_template(
    name: TemplateName, services: ServicesDep, principal: AuthorizedDep
) -> ReplyTemplate:
    return replies.get_template(services, name)
