"""Twilio inbound SMS webhook: signed form POST in, TwiML receipt (or a command's reply) out.

A WhatsApp message posted here (a Messaging Service with a WhatsApp sender has one URL) is parsed as
WhatsApp: ingest.twilio_message reads the channel from From."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from xml.sax.saxutils import escape

from aiohttp import web
from twilio.request_validator import RequestValidator

from ews.core.models import ChannelName, Inbound, IntakeResult
from ingest.base import Inbox, Rejected
from ingest.form import read_form
from ingest.handler import Answered, delivery_reports, webhook
from ingest.replies import command_replies, receipt
from ingest.twilio_message import parse_message
from ingest.twilio_status import parse_status

log = logging.getLogger(__name__)


class TwilioSms:
    """Inbound SMS from Twilio, authenticated by X-Twilio-Signature over the signing URL + path."""

    name: ClassVar[ChannelName] = "twilio_sms"
    path: ClassVar[str] = "/ingest/twilio/sms"
    status_path: ClassVar[str] = "/ingest/twilio/status"  # StatusCallback of the messages we send

    def __init__(self, *, auth_token: str | None, public_url: str) -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._public_url = public_url.rstrip("/")

    @property
    def authenticated(self) -> bool:
        """Whether signatures are checked (an auth token is configured)."""
        return self._validator is not None

    def routes(self, inbox: Inbox) -> Sequence[web.RouteDef]:
        """Inbound SMS and status callbacks, both signed."""
        return [web.post(self.path, webhook(self.name, inbox, read=self.read, parse=self.parse, answer=self.answer)),
                web.post(self.status_path, delivery_reports(inbox, read=self.read, parse=parse_status))]

    async def read(self, request: web.Request) -> Mapping[str, Any]:
        """The form fields, once the signature over the public URL checks out."""
        form, _raw = await read_form(request)
        if self._validator is not None:
            signature = request.headers.get("X-Twilio-Signature", "")
            if not signature:
                raise Rejected(403, "missing X-Twilio-Signature")
            url = self._public_url + request.path_qs
            if not self._signed(url, form, signature):
                log.warning("rejected Twilio webhook: bad signature, checked against %s "
                            "(set EWS_PUBLIC_URL to the URL Twilio calls)", url)
                raise Rejected(403, "invalid X-Twilio-Signature")
        return form

    def _signed(self, url: str, form: Mapping[str, Any], signature: str) -> bool:
        assert self._validator is not None
        if not signature.isascii():
            return False
        # twilio's own signature over the URL as we see it, compared in constant time. Only when that
        # fails, twilio's validate(), which also tries the URL with and without its port (Twilio varies):
        # it computes two signatures on every call, and this check runs on every webhook.
        expected: str = self._validator.compute_signature(url, form)
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return True
        return bool(self._validator.validate(url, form, signature))

    def parse(self, payload: Mapping[str, Any], received_at: datetime) -> list[Inbound]:
        """One report (or command) from the form, SMS or WhatsApp by its From; Rejected(400) naming what is wrong."""
        return parse_message(payload, received_at)

    def answer(self, answered: Sequence[Answered]) -> web.StreamResponse:
        """TwiML with a receipt per report (in the reporter's language), or the command's reply.

        A sender who opted out or is flooding gets an empty answer: no receipt, nothing to read."""
        texts: list[str] = []
        for r in answered:
            if isinstance(r, IntakeResult):
                texts += [receipt(r.reference, r.language)] if r.receipt else []
            else:
                texts += command_replies(r)
        return web.Response(text=twiml(texts), content_type="application/xml")


def twiml(messages: Sequence[str]) -> str:
    """The TwiML document that replies `messages`, each as one escaped <Message>."""
    # One plain template rather than twilio's ElementTree builder for this fixed two-element document,
    # written on every webhook; a test checks it against what twilio's MessagingResponse writes.
    body = "".join(f"<Message>{escape(text)}</Message>" for text in messages)
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'
