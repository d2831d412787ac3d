"""Africa's Talking USSD: one form POST per screen, answered `CON ...` or `END ...` in text/plain.

The menu is a pure function of AT's `text` (ingest/ussd_menu.py), so nothing is kept between requests; a
report is stored only when the reporter confirms, once per `sessionId` (the same unique constraint as every
channel's provider id), so AT repeating the final request cannot store it twice. The END screen is the
receipt: no SMS follows a USSD report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web

from ews.core.clock import utcnow
from ews.core.models import ChannelName, ReportIn, StorageUnavailable
from ingest.base import Inbox, Rejected
from ingest.callback_token import CallbackToken
from ingest.form import read_form
from ingest.ussd_menu import Draft, MenuData, Screen, screen_for, thanks

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000  # a whole session's answers; the menu refuses a path of more than MAX_ANSWERS
MAX_ID_CHARS = 100

_SORRY = {"sw": "Samahani, ripoti haikuhifadhiwa. Tafadhali piga tena baada ya muda mfupi.",
          "en": "Sorry, the report could not be saved. Please dial again in a moment."}
_UNKNOWN_CODE = "Huduma hii haipatikani. / This service is not available."


class AfricasTalkingUssd:
    """AT's USSD callback, authenticated by the secret `token` in its URL."""

    name: ClassVar[ChannelName] = "at_ussd"
    path: ClassVar[str] = "/ingest/africastalking/ussd"
    guard: ClassVar[str] = "callbacks need ?token=EWS_AT_CALLBACK_TOKEN on"  # AT signs nothing

    def __init__(self, *, token: str, menu: MenuData, service_codes: frozenset[str] = frozenset()) -> None:
        self._token = CallbackToken(token)
        self._menu = menu
        self._service_codes = service_codes  # empty: any code AT sends for this callback URL

    @property
    def authenticated(self) -> bool:
        """Always: the channel is only built with a token."""
        return True

    def routes(self, inbox: Inbox) -> Sequence[web.RouteDef]:
        """One POST route for every screen of every session."""

        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                if not self._token.checks(request):
                    raise Rejected(403, "missing or wrong token")
                form, _raw = await read_form(request)
                session = parse_session(form)
            except Rejected as exc:
                return web.json_response({"error": exc.reason}, status=exc.status)
            if self._service_codes and session.service_code not in self._service_codes:
                return _plain(Screen(_UNKNOWN_CODE, ends=True).render())
            screen = screen_for(session.text, self._menu)
            if screen.submit is None:
                return _plain(screen.render())
            report = self.report(session, screen.submit)
            try:
                result = await inbox.submit(report)
            except StorageUnavailable:
                return _plain(Screen(_SORRY[screen.submit.language], ends=True).render())
            log.info("report stored channel=%s report=%s county=%s new=%s", self.name, result.reference,
                     result.county_code, result.created)
            return _plain(thanks(result.reference, screen.submit.language))

        return [web.post(self.path, handle)]

    def report(self, session: UssdSession, draft: Draft) -> ReportIn:
        """The report a confirmed session makes: the reporter's own choices in the structured fields."""
        kinds = {option.number: option.code for option in self._menu.incident_types}
        return ReportIn(channel=self.name, external_id=session.session_id, body=draft.text,
                        sender=session.phone_number, received_at=session.received_at,
                        county_code=draft.county_code, constituency_code=draft.constituency_code,
                        incident_type=kinds.get(draft.incident_type_number or 0),
                        casualties=draft.casualties, language=draft.language)


@dataclass(frozen=True, slots=True)
class UssdSession:
    """One USSD request's fields (`sessionId`, `serviceCode`, `phoneNumber`, `text`)."""

    session_id: str
    service_code: str
    phone_number: str = field(repr=False)
    text: str
    received_at: datetime


def parse_session(payload: Mapping[str, Any], received_at: datetime | None = None) -> UssdSession:
    """The session fields of one USSD request; Rejected(400) naming what is missing or malformed."""
    missing = [f for f in ("sessionId", "phoneNumber", "serviceCode") if not str(payload.get(f, "")).strip()]
    if missing:
        raise Rejected(400, f"missing or empty field(s): {', '.join(missing)}")
    session_id = str(payload["sessionId"]).strip()
    if len(session_id) > MAX_ID_CHARS or not session_id.isprintable():
        raise Rejected(400, "sessionId is malformed")
    service_code = str(payload["serviceCode"]).strip()
    if len(service_code) > 40 or not service_code.isprintable():
        raise Rejected(400, "serviceCode is malformed")
    phone = str(payload["phoneNumber"]).strip()
    if len(phone) > 40 or not phone.isprintable():
        raise Rejected(400, "phoneNumber is malformed")
    text = str(payload.get("text", ""))
    if len(text) > MAX_TEXT_CHARS:
        raise Rejected(400, f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
    return UssdSession(session_id, service_code, phone, text, received_at or utcnow())


def _plain(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/plain")
