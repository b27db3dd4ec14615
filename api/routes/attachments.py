"""/incidents/{number}/attachments: add a file (multipart), list them, download one."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Path, Response, UploadFile

from api.deps import AuthorizedDep, ServicesDep
from api.errors import documented
from api.routes.incidents import NumberPath
from api.service import attachments
from api.service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from domain.attachments import AttachmentInfo

router = APIRouter(
    prefix="/incidents",
    tags=["attachments"],
    responses=documented(Unauthorized, Forbidden, NotFound, Unavailable),
)
AttachmentId = Annotated[str, Path(alias="id", pattern=r"^[0-9a-f]{1,64}$")]


@router.post(
    "/{number}/attachments",
    status_code=HTTPStatus.CREATED,
    response_model=AttachmentInfo,
    responses=documented(Conflict, Unprocessable),
)
async def add_attachment(
    number: NumberPath,
    file: Annotated[UploadFile, File(description="the file (multipart/form-data, field `file`)")],
    services: ServicesDep,
    principal: AuthorizedDep,
) -> AttachmentInfo:
    """Attach a file; the incident lists it (name, size, type, sha256, uploader) and its
    timeline shows `attachment_added`. Capped by `[email].max_attachment_bytes` and
    `[email].max_attachments`."""
    cap = services.policy.email.max_attachment_bytes
    data = await file.read(cap + 1)  # no more than one byte past the cap is ever read
    return await attachments.add(
        services, principal, number, name=file.filename, content_type=file.content_type, data=data
    )


@router.get("/{number}/attachments", response_model=list[AttachmentInfo])
async def list_attachments(
    number: NumberPath, services: ServicesDep, principal: AuthorizedDep
) -> list[AttachmentInfo]:
    return await attachments.listing(services, principal, number)


@router.get(
    "/{number}/attachments/{id}",
    response_class=Response,
    responses={HTTPStatus.OK: {"content": {"application/octet-stream": {}}}},
)
async def get_attachment(
    number: NumberPath,
    attachment_id: AttachmentId,
    services: ServicesDep,
    principal: AuthorizedDep,
) -> Response:
    """The file, with its stored type, as a download (`Content-Disposition: attachment`)."""
    info, data = await attachments.fetch(services, principal, number, attachment_id)
    disposition = f"attachment; filename=\"{info.name}\"; filename*=UTF-8''{_quoted(info.name)}"
    return Response(
        content=data,
        media_type=info.content_type,
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


def _quoted(name: str) -> str:
    return quote(name, safe="")
