"""Automated playbook steps that reach out: the `http` step calls the URL its model names.

Every try of one run carries the same Idempotency-Key (incident, model, step, run), so a
receiver that honours it acts once even when an answer was lost and the call was repeated.
An answer other than the expected status fails the try: 429 and 5xx (and an unreachable
server) are retried, anything else is final. The workflow marks the step `failed` after the
last try; an agent may run it again (a new run, a new key).
"""

from __future__ import annotations

import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain import names
from domain.playbook_runs import PlaybookHttpCall, PlaybookHttpResult

log = structlog.get_logger()

STEP_REJECTED = "PlaybookStepRejected"  # final: an unexpected 4xx
STEP_UNAVAILABLE = "PlaybookStepUnavailable"  # retried: 429, 5xx, unreachable, timed out
TIMEOUT_SECONDS = 20.0
SUMMARY_CHARS = 200


class PlaybookActivities:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @activity.defn(name=names.RUN_PLAYBOOK_HTTP)
    async def run_playbook_http(self, call: PlaybookHttpCall) -> PlaybookHttpResult:
        what = f"{call.method} {call.url}"
        try:
            response = await self._http.request(
                call.method,
                call.url,
                json=call.body if call.method not in ("GET", "DELETE") else None,
                headers={"Idempotency-Key": call.key},
                timeout=TIMEOUT_SECONDS,
            )
        except httpx.TransportError as error:
            raise ApplicationError(
                f"{what}: unreachable: {error!r}", type=STEP_UNAVAILABLE
            ) from None
        excerpt = " ".join(response.text[:SUMMARY_CHARS].split())
        if response.status_code != call.expect:
            message = f"{what} answered {response.status_code} (expected {call.expect})"
            message += f": {excerpt}" if excerpt else ""
            retryable = response.status_code == 429 or response.status_code >= 500
            raise ApplicationError(
                message, type=STEP_UNAVAILABLE if retryable else STEP_REJECTED,
                non_retryable=not retryable,
            )  # fmt: skip
        log.info(
            "playbook step called",
            incident=call.number,
            step=call.step,
            status=response.status_code,
        )
        return PlaybookHttpResult(status=response.status_code, summary=excerpt)
