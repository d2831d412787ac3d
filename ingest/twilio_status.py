"""Twilio's status callbacks for the messages we sent: MessageSid, MessageStatus and ErrorCode (pure parse).

Callbacks can arrive out of order and no callback is sent for the initial status, so each status has a
rank and a delivery only ever moves to a higher one (never from delivered back to sent); the final states
share the top rank so one never replaces another. `read` (WhatsApp) comes after delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ews.core.models import TWILIO_PERMANENT_CODES, TWILIO_UNSUBSCRIBED, DeliveryReport, DeliveryState
from ingest.base import Rejected

STATUS_RANKS: dict[str, int] = {
    "accepted": 1, "scheduled": 1, "queued": 2, "sending": 3, "sent": 4, "partially_delivered": 5,
    "delivered": 6, "undelivered": 6, "failed": 6, "canceled": 6, "read": 7,
}
FAILED = ("failed", "undelivered")
MAX_SID_CHARS = 64


def _text(payload: Mapping[str, Any], name: str, *, limit: int) -> str:
    value = str(payload.get(name, "")).strip()
    if len(value) > limit or not value.isprintable():
        raise Rejected(400, f"field {name} is malformed")
    return value


def parse_status(payload: Mapping[str, Any]) -> DeliveryReport:
    """The delivery report in a status callback form; Rejected(400) naming what is missing or wrong."""
    missing = [name for name in ("MessageSid", "MessageStatus") if not str(payload.get(name, "")).strip()]
    if missing:
        raise Rejected(400, f"missing or empty field(s): {', '.join(missing)}")
    sid = _text(payload, "MessageSid", limit=MAX_SID_CHARS)
    if not sid.isascii() or " " in sid:
        raise Rejected(400, "MessageSid is malformed")
    status = _text(payload, "MessageStatus", limit=30)
    if status not in STATUS_RANKS:
        raise Rejected(400, f"unknown MessageStatus {status[:30]!r}; expected one of {', '.join(STATUS_RANKS)}")
    code_text = _text(payload, "ErrorCode", limit=10)
    if code_text and not (code_text.isascii() and code_text.isdigit()):
        raise Rejected(400, "ErrorCode is not a number")
    code = int(code_text) if code_text else None
    failed = status in FAILED
    known = TWILIO_PERMANENT_CODES.get(code) if code is not None else None
    reason = f"{code} {known}" if known else (str(code) if code is not None else "")
    state: DeliveryState = status  # type: ignore[assignment]  # checked against STATUS_RANKS above
    return DeliveryReport(provider_id=sid, status=state, rank=STATUS_RANKS[status], reason=reason,
                          opted_out=failed and code == TWILIO_UNSUBSCRIBED, address=_text(payload, "To", limit=40),
                          permanent=failed and known is not None, channel="twilio_sms")
