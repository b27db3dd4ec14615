"""pytest plugin: the real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, 0.25),
started on a free port with a configuration the test writes (`alertmanager`)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.apistack import free_port

BINARY = Path("/usr/bin/prometheus-alertmanager")
START_TIMEOUT_S = 30.0


class Alertmanager:
    """One Alertmanager process: no gossip (`--cluster.listen-address=`), state in a tmp dir."""

    def __init__(self, workdir: Path, config: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (workdir / "alertmanager.yml").write_text(config)
        self.log = workdir / "alertmanager.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [BINARY, f"--config.file={workdir / 'alertmanager.yml'}",
                 f"--storage.path={workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--cluster.listen-address=", "--log.level=debug"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alertmanager exited at start:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"alertmanager not ready after {START_TIMEOUT_S}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Alertmanager's own API, as Prometheus calls it."""
        response = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10)
        assert response.status_code == 200, response.text

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Callable[[str], Alertmanager]]:
    """Start an Alertmanager with the given YAML configuration (stopped after the test)."""
    if not BINARY.exists():
        pytest.skip(f"{BINARY} not found; .ci/run installs Debian's prometheus-alertmanager")
    if shutil.which(str(BINARY)) is None:
        pytest.skip(f"{BINARY} is not executable")
    started: list[Alertmanager] = []

    def start(config: str) -> Alertmanager:
        workdir = tmp_path / f"alertmanager-{len(started)}"
        workdir.mkdir()
        instance = Alertmanager(workdir, config)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()
