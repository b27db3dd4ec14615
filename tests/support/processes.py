"""Real processes for fault tests: a file-backed dev server and worker processes that a test
can kill and start again, configured as `make run` configures them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from temporalio.client import Client

from core.settings import Settings
from core.temporal_client import connect
from devrun.stack import dev_server_command
from tests.support.apistack import free_port


def fault_settings(tmp: Path, policy_file: Path, database_url: str | None = None) -> Settings:
    return Settings(
        data_dir=tmp,
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port=free_port(),
        task_queue="incidents",
        database_url=database_url or f"sqlite+aiosqlite:///{tmp / 'records.db'}",
        policy_file=policy_file,
        tokens_file=tmp / "tokens.toml",
        api_port=free_port(),
        log_level="WARNING",
    )


def child_env(settings: Settings) -> dict[str, str]:
    values = {
        "DATA_DIR": str(settings.data_dir),
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TASK_QUEUE": settings.task_queue,
        "DATABASE_URL": settings.resolved_database_url,
        "POLICY_FILE": str(settings.policy_file),
        "LOG_LEVEL": settings.log_level,
        "WORKER_METRICS_PORT": str(free_port()),
    }
    return os.environ | {f"INCIDENTFLOW_{key}": value for key, value in values.items()}


class Process:
    """One child process that can be killed outright and started again."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.command, self.env, self.log = command, env, log
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(
                self.command, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        self.starts += 1

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def dev_server(settings: Settings) -> Process:
    return Process(
        dev_server_command(settings), child_env(settings), settings.data_dir / "temporal.log"
    )


def worker(settings: Settings) -> Process:
    command = [sys.executable, "-m", "worker"]
    return Process(command, child_env(settings), settings.data_dir / "worker.log")


async def connect_when_up(settings: Settings, seconds: float = 30) -> Client:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            client = await connect(settings)
            await client.count_workflows()
            return client
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
