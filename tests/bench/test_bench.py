"""`make bench` runs end to end at a small size and writes every figure: a smoke test of the
script, not of the figures (nothing here compares a time with anything)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.settings import PROJECT_DIR

SMOKE = ["--n", "20", "--concurrency", "4", "--rss-n", "50", "--storm-keys", "10"]
TIMEOUT_S = 120


def run_bench(json_path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bench", *SMOKE, "--json", str(json_path)]
    bench = subprocess.Popen(
        command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = bench.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        bench.terminate()  # SIGTERM: the bench stops its dev server, worker and API first
        output, _ = bench.communicate(timeout=60)
        pytest.fail(f"bench still running after {TIMEOUT_S} s:\n{output}")
    return subprocess.CompletedProcess(command, bench.returncode, output)


def assert_positive(figures: dict[str, Any], *keys: str) -> None:
    for key in keys:
        assert figures[key] > 0, (key, figures)


@pytest.mark.slow
def test_bench_writes_every_section(tmp_path: Path) -> None:
    json_path = tmp_path / "bench.json"
    done = run_bench(json_path)
    assert done.returncode == 0, done.stdout
    assert "API / SDK" in done.stdout  # the table was printed

    results = json.loads(json_path.read_text())
    for section in ("create", "update"):
        for side in ("sdk", "api"):
            assert_positive(results[section][side], "count", "ops_per_s", "p50_ms", "p99_ms")
        assert_positive(results[section], "ratio")
    reads = results["reads"]
    assert_positive(reads, "incidents_present")
    for read in ("get", "list"):
        assert_positive(reads[read], "count", "ops_per_s", "p50_ms", "p99_ms")
    sla = results["sla_lateness"]
    assert_positive(sla, "incidents", "breaches_found", "open_incidents")
    for moment in ("timer_fired", "breach_recorded"):
        assert_positive(sla[moment], "p50_ms", "p99_ms", "max_ms")
    lifecycle = results["lifecycle"]
    assert isinstance(lifecycle["events"], int) and lifecycle["events"] > 0
    assert sum(lifecycle["by_activity"].values()) > 0
    storm = results["alert_storm"]
    assert storm["incidents"] == 10 and storm["occurrences"] == storm["accepted_triggers"] == 50
    [rss] = results["rss"]
    assert rss["open_incidents"] == 50
    assert_positive(rss, "rss_before_kib", "rss_after_kib", "kib_per_incident")
