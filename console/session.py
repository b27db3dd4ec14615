"""The console's session: a cookie holding the person's token, encrypted and authenticated
(Fernet: AES with an HMAC, and a timestamp so a session ends after `SESSION_SECONDS`), with a
CSRF token bound to it.

Every request resolves the token to a principal the way the API resolves a bearer token (the
tokens file, then OpenID Connect, then the directory's groups), so a token taken out of the
tokens file, or an expired JWT, ends the session at its next page. Forms carry the session's
CSRF token (a synchroniser token: the cookie is unreadable to anyone but the server, and it is
`SameSite=Lax` as well); a POST without it, or with another, is refused before anything runs.

A signed-in session has an id; signing out records it in the record store until the session
would have expired, so a copy of the cookie is refused from then on, on every API replica.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response

from api.auth import Principal
from api.deps import authenticate
from api.service.context import Services
from core.settings import Settings
from recordstore import sign_outs

COOKIE = "incidentflow_console"
SESSION_SECONDS = 8 * 3600
CSRF_FIELD = "csrf_token"


class CsrfRefused(Exception):
    """A form post without the session's CSRF token."""


class SignInRequired(Exception):
    """No session, or one whose token no longer names anybody."""


@dataclass
class Session:
    csrf: str
    token: str | None = None
    # A signed-in session's id (what signing out refuses from then on).
    id: str = field(default_factory=lambda: secrets.token_urlsafe(24))


def secret_of(settings: Settings) -> bytes:
    """`INCIDENTFLOW_CONSOLE_SECRET`, or a random one generated once under the data directory
    (dev: sessions survive restarts; several API replicas need the setting)."""
    if settings.console_secret is not None:
        return settings.console_secret.get_secret_value().encode()
    path = settings.data_dir / "console-secret"
    if not path.exists():
        _write_secret(path)
    return path.read_bytes().strip()


def _write_secret(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first: use theirs
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(48))


class SessionCodec:
    def __init__(self, secret: bytes) -> None:
        key = hashlib.sha256(b"incidentflow console session\x00" + secret).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def dump(self, session: Session) -> str:
        payload = json.dumps(
            {"csrf": session.csrf, "token": session.token, "id": session.id}
        ).encode()
        return self._fernet.encrypt(payload).decode()

    def load(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            raw = json.loads(self._fernet.decrypt(cookie.encode(), ttl=SESSION_SECONDS))
        except (InvalidToken, ValueError):
            return None
        if not isinstance(raw, dict) or not all(
            isinstance(raw.get(key), str) for key in ("csrf", "id")
        ):
            return None  # a cookie from before sessions had ids: sign in again
        token = raw.get("token")
        return Session(
            csrf=raw["csrf"], token=token if isinstance(token, str) else None, id=raw["id"]
        )


def codec(request: Request) -> SessionCodec:
    """Made on first use, not at import: the secret may have to be written under the data
    directory first."""
    state = request.app.state
    if getattr(state, "console_sessions", None) is None:
        state.console_sessions = SessionCodec(secret_of(state.console_settings))
    found: SessionCodec = state.console_sessions
    return found


def current(request: Request) -> Session | None:
    """The request's session (cached on it: a page may ask more than once)."""
    if "console_session" not in request.scope:
        request.scope["console_session"] = codec(request).load(request.cookies.get(COOKIE))
    found: Session | None = request.scope["console_session"]
    return found


def anonymous(request: Request) -> Session:
    """The session, or a fresh one without a token: the sign-in form needs a CSRF token too."""
    found = current(request)
    if found is None:
        found = Session(csrf=secrets.token_urlsafe(32))
        request.scope["console_session"] = found
        request.scope["console_session_new"] = True
    return found


def write(request: Request, response: Response, session: Session | None) -> None:
    if session is None:
        response.delete_cookie(COOKIE, path="/")
        return
    response.set_cookie(
        COOKIE,
        codec(request).dump(session),
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def persist_new(request: Request, response: Response) -> None:
    """Set the cookie of a session made during this request (the sign-in page's)."""
    if request.scope.get("console_session_new"):
        write(request, response, current(request))


async def check_csrf(request: Request) -> None:
    """Every console POST: the form's token must be the session's."""
    session = current(request)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if (
        session is None
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent.encode(), session.csrf.encode())
    ):
        raise CsrfRefused()


async def principal_of(request: Request, services: Services) -> Principal:
    """The signed-in person, resolved as `api/deps.py` resolves a bearer token."""
    principal = await signed_in(request, services)
    if principal is None:
        raise SignInRequired()
    return principal


async def signed_in(request: Request, services: Services) -> Principal | None:
    """The session's person, or None: no session, a signed-out one, or a token that no longer
    names anybody."""
    session = current(request)
    if session is None or session.token is None:
        return None
    if await sign_outs.signed_out(services.store.database, session.id):
        return None
    return await authenticate(services, session.token)


async def sign_out(request: Request, services: Services) -> None:
    """Refuse this session from now on, until its cookie would have expired anyway."""
    session = current(request)
    if session is not None and session.token is not None:
        until = datetime.now(UTC) + timedelta(seconds=SESSION_SECONDS)
        await sign_outs.sign_out(services.store.database, session.id, until)
