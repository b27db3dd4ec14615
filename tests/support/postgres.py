"""pytest plugin: a throwaway PostgreSQL 15 server for the test session (`postgres_url`)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
DATABASE = "incidentflow"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


class ThrowawayPostgres:
    """A PostgreSQL 15 server in a temporary folder, on a free port, that can be stopped and
    started again on the same data (to take the record store away from the worker)."""

    def __init__(self) -> None:
        if not (PG_BIN / "postgres").exists():
            pytest.skip(f"PostgreSQL 15 not found in {PG_BIN}; .ci/run installs postgresql-15")
        self.workdir = Path(tempfile.mkdtemp(prefix="incidentflow-pg-"))
        self.port = _free_port()
        self.server: subprocess.Popen[bytes] | None = None
        # initdb and postgres refuse to run as root: run them as the `postgres` system user.
        self._as_owner: dict[str, Any] = {"cwd": self.workdir}
        if os.geteuid() == 0:
            shutil.chown(self.workdir, user=PG_USER, group=PG_USER)
            self._as_owner.update(user=PG_USER, group=PG_USER, extra_groups=[])
        _run([PG_BIN / "initdb", "-D", self.workdir / "data", "-U", PG_USER, "--auth=trust",
              "--no-sync", "--encoding=UTF8", "--locale=C"], **self._as_owner)  # fmt: skip
        self.start()
        address = ["-h", "127.0.0.1", "-p", str(self.port)]
        _run([PG_BIN / "createdb", *address, "-U", PG_USER, DATABASE])

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        log_path = self.workdir / "server.log"
        with log_path.open("ab") as log:
            # Popen(user=...) rather than `runuser`, so our signals reach the postmaster itself.
            self.server = subprocess.Popen(
                [PG_BIN / "postgres", "-D", self.workdir / "data", "-p", str(self.port),
                 "-k", self.workdir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                stdout=log, stderr=subprocess.STDOUT, **self._as_owner,
            )  # fmt: skip
        _wait_ready(self.server, self.port, log_path)

    def stop(self) -> None:
        if self.server is not None:
            _stop(self.server)
            self.server = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    postgres = ThrowawayPostgres()
    try:
        yield postgres.url
    finally:
        postgres.remove()


def _run(command: list[Any], **options: Any) -> None:
    done = subprocess.run(command, capture_output=True, check=False, **options)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")
        raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}):\n{output}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"postgres exited at start:\n{log.read_text(errors='replace')}")
        ready = subprocess.run(
            [PG_BIN / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
        )
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"postgres not ready after {START_TIMEOUT_S}s:\n{log.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    # A fast shutdown (SIGINT): it ends the clients' sessions, as an outage does, where a smart
    # one (SIGTERM) would wait 5 s for a worker's pooled connections first; then SIGKILL.
    for sig in (signal.SIGINT, signal.SIGKILL):
        if server.poll() is not None:
            return
        server.send_signal(sig)
        try:
            server.wait(timeout=STOP_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            continue
