"""OpenID Connect bearer tokens, against a JWKS served by the test itself (RS256 and ES256):
only a token with a good signature, unexpired, for our audience, from our issuer, with a
known key id and an asymmetric algorithm gets in."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from core.settings import PROJECT_DIR
from tests.support.apistack import free_port, serve_api, stack_settings

ISSUER = "https://id.example.test/realms/service-desk"
AUDIENCE = "incidentflow"
REPORT = "/reports/summary?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def jwks() -> dict[str, Any]:
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    ec_jwk = json.loads(ECAlgorithm.to_jwk(EC_KEY.public_key()))
    return {
        "keys": [
            rsa_jwk | {"kid": "rsa-1", "use": "sig", "alg": "RS256"},
            ec_jwk | {"kid": "ec-1", "use": "sig", "alg": "ES256"},
        ]
    }


@asynccontextmanager
async def jwks_server() -> AsyncIterator[tuple[str, list[str]]]:
    fetched: list[str] = []
    body = json.dumps(jwks()).encode()

    async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http":
            return
        fetched.append(scope["path"])
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/protocol/openid-connect/certs", fetched
    finally:
        server.should_exit = True
        await task


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "3f1c",
        "preferred_username": "sam",
        "realm_access": {"roles": ["agent", "offline_access"]},
        "iat": now,
        "exp": now + 300,
    }
    return {k: v for k, v in (base | overrides).items() if v is not None}


def rs256(payload: dict[str, Any], kid: str = "rsa-1") -> str:
    return jwt.encode(payload, RSA_KEY, algorithm="RS256", headers={"kid": kid})


def es256(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, EC_KEY, algorithm="ES256", headers={"kid": "ec-1"})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any]) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "rsa-1"}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}."


def hmac_with_public_key(payload: dict[str, Any]) -> str:
    """The classic confusion: HS256 keyed with the RSA public key, which anyone has."""
    public = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    body = b64(json.dumps(payload).encode())
    signature = hmac.new(public, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


@asynccontextmanager
async def api_with_oidc(
    tmp_path: Path, **extra: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    async with jwks_server() as (jwks_url, fetched):
        settings = stack_settings(
            tmp_path,
            "127.0.0.1:1",  # the list reads the record store: no Temporal needed here
            "oidc",
            oidc_issuer=ISSUER,
            oidc_audience=AUDIENCE,
            oidc_jwks_url=jwks_url,
            oidc_roles_claim="realm_access.roles",
            **extra,
        )
        async with serve_api(settings) as url, httpx.AsyncClient(base_url=url) as http:
            yield http, fetched


async def status_with(http: httpx.AsyncClient, token: str, path: str = "/incidents") -> int:
    response = await http.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def test_only_good_tokens_get_in(tmp_path: Path) -> None:
    async with api_with_oidc(tmp_path) as (http, fetched):
        assert await status_with(http, rs256(claims())) == 200
        assert await status_with(http, es256(claims())) == 200
        refused = {
            "expired": rs256(claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
            "wrong audience": rs256(claims(aud="someone-else")),
            "wrong issuer": rs256(claims(iss="https://evil.example.test")),
            "no expiry": rs256(claims(exp=None)),
            "unknown key id": rs256(claims(), kid="rotated-away"),
            "alg none": unsigned(claims()),
            "HS256 with the public key": hmac_with_public_key(claims()),
            "tampered": rs256(claims())[:-4] + "AAAA",
            "no incidentflow role": rs256(claims(realm_access={"roles": ["offline_access"]})),
            "no name": rs256(claims(preferred_username=None)),
            "not a JWT": "a.b.c",
        }
        for why, token in refused.items():
            assert await status_with(http, token) == 401, why
        # the JWKS was fetched once and cached; a flood of made-up key ids fetches nothing more
        # (an unknown id refetches at most every REFETCH_AFTER_S, for key rotation)
        for _ in range(5):
            assert await status_with(http, rs256(claims(), kid="made-up")) == 401
        assert len(fetched) == 1


async def test_roles_decide_what_a_token_may_do(tmp_path: Path) -> None:
    async with api_with_oidc(tmp_path) as (http, _):
        requester = rs256(claims(preferred_username="alice", realm_access={"roles": ["requester"]}))
        assert await status_with(http, requester, REPORT) == 403
        manager = rs256(claims(preferred_username="morgan", realm_access={"roles": ["manager"]}))
        assert await status_with(http, manager, REPORT) == 200


async def test_roles_can_come_from_the_directory(tmp_path: Path) -> None:
    directory = PROJECT_DIR / "deploy" / "directory.example.toml"
    async with api_with_oidc(tmp_path, oidc_roles_from="directory", directory_file=directory) as (
        http,
        _,
    ):
        no_claim = claims(realm_access=None)
        assert await status_with(http, rs256(no_claim | {"preferred_username": "sam"})) == 200
        assert await status_with(http, rs256(no_claim | {"preferred_username": "stranger"})) == 401


def test_a_symmetric_algorithm_cannot_be_configured(tmp_path: Path) -> None:
    from api.oidc import OidcVerifier
    from domain.directory import Directory

    settings = stack_settings(
        tmp_path, "127.0.0.1:1", "oidc", oidc_issuer=ISSUER, oidc_audience=AUDIENCE,
        oidc_jwks_url="http://127.0.0.1:1/jwks", oidc_algorithms=["RS256", "HS256"],
    )  # fmt: skip
    with pytest.raises(ValueError, match="HS256"):
        OidcVerifier(settings, httpx.AsyncClient(), Directory())


def test_groups_come_from_a_claim_or_the_directory(tmp_path: Path) -> None:
    from api.oidc import OidcVerifier
    from api.service.people import in_directory
    from domain.directory import parse_directory

    directory = parse_directory((PROJECT_DIR / "deploy" / "directory.example.toml").read_text())
    base = {
        "oidc_issuer": ISSUER,
        "oidc_audience": AUDIENCE,
        "oidc_jwks_url": "http://x/jwks",
        "oidc_roles_claim": "realm_access.roles",
    }
    token_claims = claims(preferred_username="sam", groups=["/support/network-l2"])
    by_claim = OidcVerifier(
        stack_settings(tmp_path, "127.0.0.1:1", "oidc", oidc_groups_claim="groups", **base),
        httpx.AsyncClient(),
        directory,
    )._principal(token_claims, "a-token-of-sixteen-chars")
    assert by_claim is not None
    assert in_directory(by_claim, directory).groups == {"network-l2"}  # the claim wins
    from_directory = OidcVerifier(
        stack_settings(tmp_path, "127.0.0.1:1", "oidc", **base), httpx.AsyncClient(), directory
    )._principal(token_claims, "a-token-of-sixteen-chars")
    assert from_directory is not None and from_directory.groups is None
    assert in_directory(from_directory, directory).groups == directory.groups_of("sam")
    assert "service-desk" in directory.groups_of("sam")
    assert "network-l2" not in directory.groups_of("sam")
