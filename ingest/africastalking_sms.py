"""Africa's Talking SMS: inbound messages, delivery reports and opt-out notifications, each a form POST.

AT signs nothing, so every callback URL carries a secret `token` query parameter (EWS_AT_CALLBACK_TOKEN),
compared in constant time. AT's HTTP answer cannot carry a reply: receipts and command replies go out
through the outbox, so every callback is answered with an empty 200 once what it brought is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web

from ews.core.models import (
    ChannelName,
    Command,
    DeliveryReport,
    DeliveryState,
    Inbound,
    ReportIn,
    StorageUnavailable,
)
from ingest.base import Inbox, Rejected
from ingest.callback_token import CallbackToken
from ingest.commands import parse_command
from ingest.form import read_form
from ingest.handler import Answered, delivery_reports, webhook

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1600  # a long concatenated SMS; AT itself cuts far shorter
MAX_ID_CHARS = 100
MAX_LINK_ID_CHARS = 200

# How far along a message is. A delivery only moves to a higher rank, so a late "Sent" cannot undo
# "Success"; the three final states share the top rank, so one final state never replaces another.
DELIVERY_RANKS: dict[str, int] = {"Sent": 1, "Submitted": 2, "Buffered": 3, "Rejected": 4, "Success": 4,
                                  "Failed": 4}
OPTED_OUT_REASON = "UserInBlackList"  # the user blocked our sender id or all promotions: treat as STOP
# Failure reasons no retry can cure (as Twilio's 21610 and 21211): the delivery is dead-lettered.
PERMANENT_REASONS = {OPTED_OUT_REASON, "UserDoesNotExist"}


def _field(payload: Mapping[str, Any], name: str, *, limit: int, required: bool = True) -> str:
    value = str(payload.get(name, "")).strip()
    if required and not value:
        raise Rejected(400, f"missing or empty field: {name}")
    if len(value) > limit or not value.isprintable():
        raise Rejected(400, f"field {name} is malformed")
    return value


def parse_sms(payload: Mapping[str, Any], received_at: datetime, *, channel: ChannelName = "at_sms") -> list[Inbound]:
    """One report (or command) from AT's inbound SMS form; Rejected(400) naming what is missing or wrong."""
    missing = [f for f in ("id", "from", "text") if not str(payload.get(f, "")).strip()]
    if missing:
        raise Rejected(400, f"missing or empty field(s): {', '.join(missing)}")
    message_id = _field(payload, "id", limit=MAX_ID_CHARS)
    sender = _field(payload, "from", limit=40)
    link_id = _field(payload, "linkId", limit=MAX_LINK_ID_CHARS, required=False) or None
    text = str(payload["text"])
    if len(text) > MAX_TEXT_CHARS:
        raise Rejected(400, f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
    command = parse_command(text)
    if command is not None:
        return [Command(kind=command.kind, channel=channel, external_id=message_id, sender=sender,
                        received_at=received_at, argument=command.argument, language=command.language,
                        link_id=link_id)]
    return [ReportIn(channel=channel, external_id=message_id, body=text.strip(), sender=sender,
                     received_at=received_at, link_id=link_id)]


def parse_delivery_report(payload: Mapping[str, Any]) -> DeliveryReport:
    """AT's delivery report form (`id`, `status`, `phoneNumber`, `failureReason`, ...); Rejected(400) if bad."""
    provider_id = _field(payload, "id", limit=MAX_ID_CHARS)
    status = _field(payload, "status", limit=20)
    if status not in DELIVERY_RANKS:
        raise Rejected(400, f"unknown status {status!r}; expected one of {', '.join(DELIVERY_RANKS)}")
    reason = _field(payload, "failureReason", limit=60, required=False)
    address = _field(payload, "phoneNumber", limit=40, required=False)
    state: DeliveryState = status  # type: ignore[assignment]  # checked against DELIVERY_RANKS above
    return DeliveryReport(provider_id=provider_id, status=state, rank=DELIVERY_RANKS[status], reason=reason,
                          opted_out=reason == OPTED_OUT_REASON, address=address,
                          permanent=status in ("Rejected", "Failed") and reason in PERMANENT_REASONS)


def parse_opt_out(payload: Mapping[str, Any]) -> str:
    """The number in AT's "Bulk SMS Opt Out" notification (`senderId`, `phoneNumber`)."""
    return _field(payload, "phoneNumber", limit=40)


class AfricasTalkingSms:
    """AT's SMS callbacks, authenticated by the secret `token` in each callback URL."""

    name: ClassVar[ChannelName] = "at_sms"
    sms_path: ClassVar[str] = "/ingest/africastalking/sms"
    delivery_path: ClassVar[str] = "/ingest/africastalking/delivery"
    opt_out_path: ClassVar[str] = "/ingest/africastalking/optout"
    guard: ClassVar[str] = "callbacks need ?token=EWS_AT_CALLBACK_TOKEN on"  # AT signs nothing

    def __init__(self, *, token: str) -> None:
        self._token = CallbackToken(token)

    @property
    def authenticated(self) -> bool:
        """Always: the channel is only built with a token."""
        return True

    def routes(self, inbox: Inbox) -> Sequence[web.RouteDef]:
        """Inbound SMS, delivery reports and opt-out notifications."""
        sms = webhook(self.name, inbox, read=self.read, parse=parse_sms, answer=self.answer)

        delivery = delivery_reports(inbox, read=self.read, parse=parse_delivery_report)

        async def opt_out(request: web.Request) -> web.StreamResponse:
            try:
                address = parse_opt_out(await self.read(request))
                await inbox.opt_out(address, reason="at_opt_out")
            except Rejected as exc:
                return web.json_response({"error": exc.reason}, status=exc.status)
            except StorageUnavailable:
                return _unavailable()
            log.info("opt-out notification stored")
            return web.Response(status=200)

        return [web.post(self.sms_path, sms), web.post(self.delivery_path, delivery),
                web.post(self.opt_out_path, opt_out)]

    async def read(self, request: web.Request) -> Mapping[str, Any]:
        """The form fields, once the token checks out (403 before the body is read)."""
        if not self._token.checks(request):
            raise Rejected(403, "missing or wrong token")
        form, _raw = await read_form(request)
        return form

    def answer(self, _answered: Sequence[Answered]) -> web.StreamResponse:
        """An empty 200: AT's answer carries no reply (receipts go through the outbox)."""
        return web.Response(status=200)


def _unavailable() -> web.Response:
    # Not stored, so not acknowledged: AT retries the callback.
    return web.json_response({"error": "could not be stored; try again"}, status=503)
