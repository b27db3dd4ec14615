"""`make run` as a person meets it: a port clash is named, and killing it leaves no orphan."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from core.settings import PROJECT_DIR
from tests.support.apistack import free_port

START_TIMEOUT_S = 90.0
ORPHAN_TIMEOUT_S = 20.0


def devrun_env(data_dir: Path, api_port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTFLOW_")}
    env.update(
        INCIDENTFLOW_DATA_DIR=str(data_dir),
        INCIDENTFLOW_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        INCIDENTFLOW_TEMPORAL_UI_PORT=str(free_port()),
        INCIDENTFLOW_API_PORT=str(api_port or free_port()),
        INCIDENTFLOW_WORKER_METRICS_PORT=str(free_port()),
        INCIDENTFLOW_SMTP_PORT=str(free_port()),  # not 2525: a `make run` of one's own may hold it
    )
    return env


def test_a_port_clash_is_named_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "devrun"],
            cwd=PROJECT_DIR,
            env=devrun_env(tmp_path, api_port=port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"port {port} (API) is already in use; set INCIDENTFLOW_API_PORT" in done.stderr
    assert "still running?" in done.stderr
    assert not (tmp_path / "temporal.log").exists()  # nothing was started


def read_until(stream: IO[str], marker: str, timeout_s: float) -> str:
    """What `stream` printed until `marker` (or its end, or the timeout): never blocks longer."""
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in stream:
            seen.append(line)
            if marker in line:
                break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    done.wait(timeout_s)
    return "".join(seen)


def children_of(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_killing_make_run_leaves_no_child_running(tmp_path: Path) -> None:
    env = devrun_env(tmp_path)
    devrun = subprocess.Popen(
        [sys.executable, "-m", "devrun"],
        cwd=PROJECT_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    children: list[int] = []
    try:
        assert devrun.stdout is not None
        banner = read_until(devrun.stdout, "Ctrl-C stops everything.", START_TIMEOUT_S)
        assert "Ctrl-C stops everything." in banner, banner[-2000:]
        assert "/console/sign-in#token=" in banner  # a sign-in link per dev person
        children += children_of(devrun.pid)
        assert len(children) == 4  # dev server, worker, mail listener, API
        devrun.send_signal(signal.SIGKILL)
        devrun.wait(10)
        deadline = time.monotonic() + ORPHAN_TIMEOUT_S
        while any(alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [child for child in children if alive(child)] == []
        # ...so the next `make run` finds its ports free
        again = subprocess.run(
            [sys.executable, "-c", "import devrun.stack as d, core.settings as s;"
             "print(d.ports_in_use(s.Settings()))"],
            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert again.stdout.strip() == "[]", again.stderr
    finally:
        if devrun.poll() is None:
            devrun.kill()
        for child in children:  # when the check above failed, no orphan outlives the test
            if alive(child):
                os.kill(child, signal.SIGKILL)
