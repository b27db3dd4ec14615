"""The mail desk: what an inbound message does to incidents (contract 13).

`take` is the durable hand-over (the record store's inbound_mail row, written before the
listener answers 250); `run` applies what was taken, in order, and keeps a message pending
while Temporal or the record store is away, so a restart of any process loses nothing.
Every action carries the mail's request id (`domain.names.inbound_request_id`), so a message
applied again after a crash changes nothing twice.

Threading, in order: the `[INC0001234]` subject token (the sender must be the caller, an
affected caller or an agent); In-Reply-To/References naming a Message-ID we sent; else a new
incident.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from api.auth import Principal, Role
from api.service import attachments, incidents
from api.service.context import Services
from api.service.errors import Refused, Unavailable
from domain import lifecycle, names
from domain.models import Action, Channel, IncidentCreate, IncidentView, Status
from mailin.parse import InboundMail, message_id_of, parse, read_message, sender_of
from recordstore import mail
from recordstore.mail import StoredMail

log = structlog.get_logger()
# Service-layer calls on behalf of a sender; never presented over HTTP.
INTERNAL_TOKEN = "mail-desk-internal-principal"
DESK = Principal(name="mail-desk", roles=frozenset({Role.AUTOMATION}), token=INTERNAL_TOKEN)
WORKING_ROLES = (Role.AGENT, Role.MANAGER)
TEXT_MAX = 4000
DESCRIPTION_MAX = 32_000
TRANSIENT = (Unavailable, RPCError, SQLAlchemyError, OSError, TimeoutError)


@dataclass(frozen=True)
class Outcome:
    status: str  # recordstore.mail: applied, ignored, rejected
    number: str | None
    note: str


def applied(number: str, note: str) -> Outcome:
    return Outcome(mail.APPLIED, number, note)


def ignored(note: str, number: str | None = None) -> Outcome:
    return Outcome(mail.IGNORED, number, note)


def rejected(note: str, number: str | None = None) -> Outcome:
    return Outcome(mail.REJECTED, number, note)


class MailDesk:
    def __init__(self, services: Services, *, retry_seconds: float = 5.0) -> None:
        self.services = services
        self.database = services.store.database
        self.retry_seconds = retry_seconds
        self._wake = asyncio.Event()

    # --- the hand-over --------------------------------------------------------------------

    async def take(self, raw: bytes, envelope_from: str | None = None) -> bool:
        """Store the message durably; False when its Message-ID was taken before."""
        message = read_message(raw)
        message_id = message_id_of(message, raw)
        new = await mail.receive(self.database, message_id, sender_of(message, envelope_from), raw)
        log.info("mail received", message_id=message_id, new=new, bytes=len(raw))
        self._wake.set()
        return new

    # --- applying -------------------------------------------------------------------------

    async def run(self) -> None:
        """Apply pending mail for ever: at once when woken, else every `retry_seconds`."""
        while True:
            self._wake.clear()
            await self.apply_pending()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.retry_seconds)
            except TimeoutError:
                pass

    async def apply_pending(self) -> int:
        """Apply what is pending, oldest first; stop at the first message that cannot be
        applied yet (Temporal or the record store away): it is tried again later."""
        done = 0
        try:
            for stored in await mail.pending(self.database):
                outcome = await self._apply_one(stored)
                if outcome is None:
                    break
                await mail.settle(
                    self.database, stored.digest, outcome.status, outcome.number, outcome.note
                )
                done += 1
        except TRANSIENT as error:
            log.warning("inbound mail waits: the record store is unavailable", error=repr(error))
        return done

    async def _apply_one(self, stored: StoredMail) -> Outcome | None:
        bound = log.bind(message_id=stored.message_id, sender=stored.sender)
        try:
            outcome = await self.apply(parse(stored.raw))
        except TRANSIENT as error:
            bound.warning("inbound mail waits: will retry", error=repr(error))
            return None
        except (Refused, ValueError) as error:
            outcome = rejected(str(error))
        except Exception as error:
            if str(error).startswith("Failed client connect"):  # the lazy Temporal client
                bound.warning("inbound mail waits: Temporal unreachable", error=str(error))
                return None
            # A bug must not stop the mail behind it; the row keeps the message itself.
            bound.exception("inbound mail failed")
            outcome = rejected("internal error while applying; see the mail listener's log")
        bound.info(
            "inbound mail", outcome=outcome.status, incident=outcome.number, note=outcome.note
        )
        return outcome

    async def apply(self, inbound: InboundMail) -> Outcome:
        if inbound.loop_reason is not None:
            return ignored(f"automatic message: {inbound.loop_reason}")
        if await mail.number_for_sent(self.database, [inbound.message_id]):
            return ignored("a message incidentflow sent itself")
        if not inbound.sender:
            return ignored("no sender address")
        policy = self.services.policy.email
        hour_ago = datetime.now(UTC) - timedelta(hours=1)
        if await mail.received_since(self.database, inbound.sender, hour_ago) > (
            policy.sender_rate_per_hour
        ):
            return rejected(f"rate limit: over {policy.sender_rate_per_hour} messages an hour")
        number = inbound.token or await mail.number_for_sent(self.database, inbound.answers)
        if number is None:
            return await self._open(inbound)
        return await self._reply(inbound, number)

    async def _open(self, inbound: InboundMail) -> Outcome:
        person = self.person_for(inbound.sender)
        if person is None and self.services.policy.email.unknown_senders == "reject":
            return rejected(f"unknown sender {inbound.sender} ([email].unknown_senders = reject)")
        principal = self.principal_for(person or inbound.sender[:128], known=person is not None)
        body = IncidentCreate(
            short_description=inbound.short_description,
            description=inbound.text.strip()[:DESCRIPTION_MAX],
            channel=Channel.EMAIL,
        )
        key = names.inbound_request_id(inbound.message_id)
        view, _ = await incidents.create(self.services, principal, body, key)
        notes = await self._attach(inbound, view.number, principal)
        return applied(view.number, "; ".join(["opened", *notes]))

    async def _reply(self, inbound: InboundMail, number: str) -> Outcome:
        person = self.person_for(inbound.sender)
        name = person or inbound.sender[:128]
        view = await incidents.read(self.services, DESK, number)
        principal = self.principal_for(name, known=person is not None)
        if not self._may_write(view, principal):
            return rejected(f"{inbound.sender} is neither the caller of {number} nor an agent")
        if view.status in lifecycle.FINAL:
            return rejected(f"{number} is {view.status}; a reply no longer changes it", number)
        # The sender's own words, acting as them; the checks above stand for the role check.
        actor = Principal(name=name, roles=frozenset({Role.AUTOMATION}), token=INTERNAL_TOKEN)
        text = (inbound.reply or "").strip()[:TEXT_MAX]
        key = names.inbound_request_id(inbound.message_id)
        # The caller answering a resolution rejects it (when the policy says so); anyone else's
        # reply, or any reply under reopen_on_reply = false, is a comment the assignee hears of.
        reopen = (
            view.status == Status.RESOLVED
            and self.services.policy.email.reopen_on_reply
            and name == view.caller
        )
        done = []
        if reopen:
            body = incidents.body_model(Action.REOPEN)(reason=text or "Reopened by an e-mail reply")
            await incidents.transition(self.services, actor, number, Action.REOPEN, body, key)
            done.append("reopened")
        elif text:
            body = incidents.body_model(Action.COMMENT)(text=text, visibility="public")
            await incidents.transition(self.services, actor, number, Action.COMMENT, body, key)
            done.append("public comment")
        done += await self._attach(inbound, number, actor)
        return applied(number, "; ".join(done) or "nothing to add")

    async def _attach(self, inbound: InboundMail, number: str, principal: Principal) -> list[str]:
        notes = []
        for index, found in enumerate(inbound.attachments):
            try:
                await attachments.add(
                    self.services,
                    principal,
                    number,
                    name=found.name,
                    content_type=found.content_type,
                    data=found.data,
                    source="email",
                    attachment_id=attachments.mail_attachment_id(inbound.message_id, index),
                )
                notes.append(f"attached {found.name}")
            except Refused as refusal:
                if isinstance(refusal, Unavailable):
                    raise
                log.warning(
                    "attachment refused", incident=number, name=found.name, error=str(refusal)
                )
                notes.append(f"attachment {found.name} refused: {refusal}")
        return notes

    # --- who wrote ------------------------------------------------------------------------

    def person_for(self, address: str) -> str | None:
        """The directory's person with this address; without a directory, the policy's
        addresses and `<name>@<email_domain>`, as outbound mail addresses people."""
        directory, notifications = self.services.directory, self.services.policy.notifications
        for name, person in directory.people.items():
            if person.email and person.email.lower() == address:
                return name
        for name, configured in notifications.addresses.items():
            if configured.lower() == address:
                return name
        local, _, domain = address.partition("@")
        if not directory.people and local and domain == notifications.email_domain.lower():
            return local
        return None

    def principal_for(self, name: str, *, known: bool) -> Principal:
        roles: set[Role] = set()
        person = self.services.directory.people.get(name) if known else None
        if person is not None:
            roles |= {Role(role) for role in person.roles}
        if known:
            roles |= self.services.tokens.roles_of(name)
        roles.discard(Role.AUTOMATION)  # a mail never acts as automation
        if Role.ADMIN in roles:  # a mail never carries more than an agent's say
            roles = (roles - {Role.ADMIN}) | {Role.MANAGER}
        return Principal(
            name=name, roles=frozenset(roles or {Role.REQUESTER}), token=INTERNAL_TOKEN
        )

    @staticmethod
    def _may_write(view: IncidentView, principal: Principal) -> bool:
        affected = getattr(view, "affected_callers", None) or []
        if principal.name == view.caller or principal.name in affected:
            return True
        return bool(principal.roles & set(WORKING_ROLES))
