"""The worker: registration and wiring only. `python -m worker` runs it until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from functools import partial

import httpx
import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.bridges import BridgeActivities, TemplateBridgeProvider
from activities.correlation import CorrelationActivities
from activities.known_errors import KnownErrorActivities
from activities.notifications import SHIPPED_TEMPLATES, NotificationActivities
from activities.playbooks import PlaybookActivities
from activities.records import RecordActivities
from activities.similar import SimilarActivities
from activities.vendor_tickets import VendorActivities
from core.logconfig import configure_logging
from core.metrics import worker_runtime
from core.settings import Settings, get_settings, load_directory, load_models, load_policy
from core.temporal_client import connect
from domain.directory import Directory
from domain.policy import Policy
from recordstore import RecordStore, mail
from recordstore.correlation import Correlations
from workflows.alerts import AlertWorkflow
from workflows.incident import IncidentWorkflow

log = structlog.get_logger()
# `workflows/` and `domain/` are pure by construction (tests/workflows/test_determinism.py
# checks it), so the sandbox
# need not re-import it for every workflow run: that re-import cost ~55 ms of worker CPU per
# incident opened. Everything else still runs under the sandbox's restrictions.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "domain")
)


def build_worker(
    client: Client,
    task_queue: str,
    store: RecordStore,
    policy: Policy | None = None,
    http: httpx.AsyncClient | None = None,
    directory: Directory | None = None,
    reply_to: str | None = None,
) -> Worker:
    """`policy` is the full policy file (with notification channels and vendors); `directory`
    gives recipients their addresses."""
    policy = policy or Policy()
    http = http or httpx.AsyncClient()
    records = RecordActivities(store)
    known_errors = KnownErrorActivities(store)
    similar = SimilarActivities(store)
    notifications = NotificationActivities(
        policy,
        http,
        SHIPPED_TEMPLATES,
        directory,
        reply_to=reply_to,
        sent_mail=partial(mail.remember_sent, store.database),
    )
    vendors = VendorActivities(policy, http, store)
    playbooks = PlaybookActivities(http)
    bridges = BridgeActivities(TemplateBridgeProvider(policy.major.bridge_url_template))
    correlations = CorrelationActivities(Correlations(store.database))
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[IncidentWorkflow, AlertWorkflow],
        workflow_runner=WORKFLOW_RUNNER,
        activities=[
            records.upsert_incident_record,
            records.allocate_incident_number,
            known_errors.lookup_known_errors,
            known_errors.propose_problem,
            similar.lookup_similar_incidents,
            notifications.send_notification,
            vendors.create_vendor_ticket,
            bridges.open_bridge,
            correlations.correlate_incidents,
            playbooks.run_playbook_http,
        ],
    )


async def serve(settings: Settings) -> None:
    store = RecordStore(settings.resolved_database_url)
    await store.database.migrate(auto=settings.db_auto_migrate)
    try:
        runtime = worker_runtime(settings.worker_metrics_port, settings.worker_metrics_host)
    except ValueError as error:  # the port is taken, e.g. by a second worker on this host
        log.warning("worker metrics disabled", error=str(error), port=settings.worker_metrics_port)
        runtime = None
    client = await connect(settings, runtime=runtime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with httpx.AsyncClient() as http:
        policy = load_policy(settings)
        directory = load_directory(settings, policy)
        load_models(settings, policy)  # checked here too: a bad model stops start-up
        worker = build_worker(
            client,
            settings.task_queue,
            store,
            policy,
            http,
            directory,
            reply_to=settings.service_desk_address,
        )
        log.info(
            "worker started", task_queue=settings.task_queue, temporal=settings.temporal_address
        )
        async with worker:
            await stop.wait()
    await store.dispose()
    log.info("worker stopped")


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
