"""A real API on a real port, with a worker, against the dev server: what a client meets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from temporalio.client import Client

from api.app import create_app
from core.settings import Settings
from devrun.stack import DEV_PRINCIPALS
from recordstore import RecordStore
from worker import build_worker

# The dev principals of `make run`, a second requester and agents of other groups (olga: the
# desk scenario's own), with tokens the tests can present; their groups are in DIRECTORY.
TOKENS = {
    name: (role, f"{name}-token-0123456789abcdef")
    for name, role in (
        *DEV_PRINCIPALS,
        ("bob", "requester"),
        ("dana", "agent"),
        ("nina", "agent"),
        ("olga", "agent"),
    )
}
DIRECTORY = Path(__file__).with_name("directory.toml")

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_tokens(path: Path) -> Path:
    lines = []
    for name, (role, token) in TOKENS.items():
        lines += [
            "[[principal]]",
            f'name = "{name}"',
            f'roles = ["{role}"]',
            f'token = "{token}"',
            "",
        ]
    path.write_text("\n".join(lines))
    return path


@dataclass
class Stack:
    http: httpx.AsyncClient
    settings: Settings
    store: RecordStore

    def as_(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKENS[name][1]}"}

    async def call(self, method: str, path: str, who: str = "sam", **kwargs: Any) -> httpx.Response:
        headers = self.as_(who) | kwargs.pop("headers", {})
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def ok(
        self, method: str, path: str, who: str = "sam", status: int = 200, **kwargs: Any
    ) -> Any:
        response = await self.call(method, path, who, **kwargs)
        assert response.status_code == status, response.text
        return response.json()


def stack_settings(tmp: Path, temporal_address: str, task_queue: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp,
        "temporal_address": temporal_address,
        "task_queue": task_queue,
        "database_url": f"sqlite+aiosqlite:///{tmp / 'records.db'}",
        "tokens_file": write_tokens(tmp / "tokens.toml"),
        "directory_file": DIRECTORY,
        "api_port": free_port(),
    }
    return Settings(**(values | extra))


@asynccontextmanager
async def serve_api(settings: Settings) -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.api_port, log_config=None
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.api_port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def api_stack(client: Client, settings: Settings) -> AsyncIterator[Stack]:
    store = RecordStore(settings.resolved_database_url)
    await store.database.migrate()
    async with build_worker(client, settings.task_queue, store), serve_api(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield Stack(http, settings, store)
    await store.dispose()


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], seconds: float = 10
) -> T:
    """Poll what a user would poll (a list, a visibility query) until it shows the change."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await probe()
        if check(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)
