"""Worker metrics: the Temporal SDK's own series and the business counters, served by the
runtime's Prometheus exporter on the worker's metrics port (the API serves its own on /metrics).

Business counters are counted where the events happen, in workflow code, through
`workflow.metric_meter()`: that meter is replay-safe (a replayed workflow task counts nothing
twice) and reports through the same exporter, e.g.

    workflow.metric_meter().create_counter(INCIDENTS_CREATED, COUNTERS[INCIDENTS_CREATED])
        .add(1, {"priority": "P1"})

Names are exported as given, without a `_total` suffix, like the SDK's own counters
(`temporal_request`, `temporal_workflow_completed`): what Temporal's SDK dashboards query.
"""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from domain.presentation import COUNTERS, ESCALATIONS, INCIDENTS_CREATED, SLA_BREACHES

__all__ = ["COUNTERS", "ESCALATIONS", "INCIDENTS_CREATED", "SLA_BREACHES", "worker_runtime"]


def worker_runtime(port: int, host: str = "127.0.0.1") -> Runtime:
    """A Temporal runtime whose metrics Prometheus scrapes at http://{host}:{port}/metrics.
    Build it once per process and give it to the client the worker uses. In a container,
    pass host="0.0.0.0" so the scraper can reach it."""
    exporter = PrometheusConfig(bind_address=f"{host}:{port}")
    return Runtime(telemetry=TelemetryConfig(metrics=exporter))
