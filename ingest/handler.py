"""The shared webhook handler: read (authenticate), parse, hand every item to the inbox, then answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web

from ews.core.clock import utcnow
from ews.core.models import Command, CommandOutcome, DeliveryReport, Inbound, IntakeResult, StorageUnavailable
from ingest.base import Inbox, Rejected

log = logging.getLogger(__name__)

Answered = IntakeResult | CommandOutcome
"""What the inbox did with one inbound item: a committed report, or a carried-out command."""

Reader = Callable[[web.Request], Awaitable[Mapping[str, Any]]]
Parser = Callable[[Mapping[str, Any], datetime], Sequence[Inbound]]
Answerer = Callable[[Sequence[Answered]], web.StreamResponse]


async def hand_over(inbox: Inbox, items: Sequence[Inbound]) -> list[Answered]:
    """Give each item to the inbox in order, commands to their handler before intake sees them."""
    answered: list[Answered] = []
    for item in items:
        if isinstance(item, Command):
            answered.append(await inbox.command(item))
        else:
            answered.append(await inbox.submit(item))
    return answered


def webhook(channel: str, inbox: Inbox, *, read: Reader, parse: Parser,
            answer: Answerer) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler that answers only after every item in the request is committed."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            payload = await read(request)
            items = parse(payload, utcnow())
        except Rejected as exc:
            return web.json_response({"error": exc.reason}, status=exc.status)
        try:
            answered = await hand_over(inbox, items)
        except StorageUnavailable:
            # Not stored, so not acknowledged: the gateway (or the person) can try again.
            return web.json_response({"error": "report could not be stored; try again"}, status=503)
        for result in answered:
            if isinstance(result, IntakeResult):
                log.info("report stored channel=%s report=%s county=%s new=%s", channel, result.reference,
                         result.county_code, result.created)
            else:
                log.info("command channel=%s kind=%s outcome=%s alert=%s", channel, result.kind, result.reply,
                         result.alert_id)
        return answer(answered)

    return handle


def delivery_reports(inbox: Inbox, *, read: Reader,
                     parse: Callable[[Mapping[str, Any]], DeliveryReport]) -> Callable[[web.Request],
                                                                                 Awaitable[web.StreamResponse]]:
    """An aiohttp handler for a gateway's delivery reports: an empty 200 once the report is applied."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            report = parse(await read(request))
            moved = await inbox.delivery_report(report)
        except Rejected as exc:
            return web.json_response({"error": exc.reason}, status=exc.status)
        except StorageUnavailable:
            # Not stored, so not acknowledged: the gateway retries the callback.
            return web.json_response({"error": "could not be stored; try again"}, status=503)
        log.info("delivery report channel=%s status=%s moved=%s permanent=%s opted_out=%s", report.channel,
                 report.status, moved, report.permanent, report.opted_out)
        return web.Response(status=200)

    return handle
