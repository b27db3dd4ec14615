"""Signing in to the console with an OpenID Connect JWT: the same verification as the API's
bearer tokens (tests/api/test_oidc.py's issuer and keys), and a JWT that expires after sign-in
ends the session at the next page."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx

from tests.api.test_oidc import api_with_oidc, claims, rs256


async def _csrf(http: httpx.AsyncClient) -> str:
    page = await http.get("/console/sign-in")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


async def test_a_jwt_signs_in_until_it_expires(tmp_path: Path) -> None:
    async with api_with_oidc(tmp_path, oidc_leeway_seconds=0) as (http, _):
        assert "OpenID Connect" in (await http.get("/console/sign-in")).text
        for refused in (rs256(claims(), kid="unknown"), rs256(claims(exp=int(time.time()) - 5))):
            answer = await http.post(
                "/console/sign-in", data={"token": refused, "csrf_token": await _csrf(http)}
            )
            assert answer.status_code == 401
            assert (await http.get("/console/incidents")).status_code == 303  # to sign-in

        expires_at = int(time.time()) + 3
        signed_in = await http.post(
            "/console/sign-in",
            data={"token": rs256(claims(exp=expires_at)), "csrf_token": await _csrf(http)},
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/console/queue"
        page = await http.get("/console/incidents")
        assert page.status_code == 200 and 'id="who">sam<' in page.text

        await asyncio.sleep(max(0.0, expires_at - time.time()) + 1.1)
        after = await http.get("/console/incidents")
        assert after.status_code == 303 and after.headers["location"] == "/console/sign-in"
