"""The worker: registration and wiring only. `python -m worker` runs it until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.known_errors import KnownErrorActivities
from activities.records import RecordActivities
from logconfig import configure_logging
from recordstore import RecordStore
from settings import Settings, get_settings
from temporal_client import connect
from workflows.incident import IncidentWorkflow

log = structlog.get_logger()


def build_worker(client: Client, task_queue: str, store: RecordStore) -> Worker:
    records = RecordActivities(store)
    known_errors = KnownErrorActivities(store)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[IncidentWorkflow],
        activities=[
            records.upsert_incident_record,
            known_errors.lookup_known_errors,
            known_errors.propose_problem,
        ],
    )


async def serve(settings: Settings) -> None:
    store = RecordStore(settings.resolved_database_url)
    await store.create_schema()
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    worker = build_worker(client, settings.task_queue, store)
    log.info("worker started", task_queue=settings.task_queue, temporal=settings.temporal_address)
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
