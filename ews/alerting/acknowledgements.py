"""Acknowledge and resolve an alert (an SMS reply from a responder, or the API): who may, what changes, who is
told. The decisions and texts are pure; `act_on_alert` carries one out in the caller's transaction."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from ews.core.models import Language, alert_reference
from ews.db.repo.acks import (
    AlertRow,
    ResponderRow,
    alert_audience,
    audit,
    lock_alert,
    mark_acknowledged,
    mark_resolved,
    was_sent_alert,
)
from ews.db.repo.notification_log import settle_quietly
from ews.db.repo.outbox import enqueue_message

Action = Literal["ack", "resolve"]
Outcome = Literal["acknowledged", "resolved", "already_resolved", "unknown", "other_county"]

MAX_ALERT_ID = 2**63 - 1  # alerts.id is bigint: a larger number names no alert
NOTICE_KIND = "ack_confirmation"  # the outbox kind of "Amina (CSIC Kisumu) acknowledged A-12" (no new kind)
# What an API caller's `by` and `note` may hold, as regexes both JSON Schema (ECMA) and Python read alike
# (match the whole value: OpenAPI anchors them, Python uses fullmatch): a name has no control characters and
# is not only spaces (spelt out: Python's \s also counts \x1c-\x1f); a note has no NUL (PostgreSQL text
# cannot hold one).
_CONTROL = r"\x00-\x1f\x7f-\x9f"
_SPACES = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NAME_PATTERN = rf"[^{_CONTROL}]*[^{_CONTROL}{_SPACES}][^{_CONTROL}]*"
NOTE_PATTERN = r"[^\x00]*"
MAX_NAME_CHARS = 40  # of a person's name in a notice: keeps it within two SMS whatever the directory holds


def may_act(responder_county: int | None, alert_county: int, *, was_sent: bool) -> bool:
    """Whether a responder may answer an alert: national ones any; others their county's, or one sent to them."""
    return responder_county is None or responder_county == alert_county or was_sent


def decide(action: Action, alert: AlertRow | None, *, allowed: bool) -> Outcome:
    """What an ACK or DONE does to this alert (pure): nothing for an unknown or foreign or resolved one."""
    if alert is None:
        return "unknown"
    if not allowed:
        return "other_county"
    if alert.resolved_at is not None:
        return "already_resolved"  # nothing to acknowledge or resolve any more
    return "acknowledged" if action == "ack" else "resolved"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a responder (from their SMS), or an API caller by the name they give; never an address."""

    responder: ResponderRow | None = None
    name: str | None = None  # the API caller's `by`
    sender_hash: str | None = None  # the keyed hash of an SMS sender, for the audit of a refused reply
    via: str = "api"  # api | the inbound channel (at_sms, twilio_sms, twilio_whatsapp)

    @property
    def audit_name(self) -> str:
        """The audit row's actor."""
        if self.responder is not None:
            return f"responder:{self.responder.id}"
        if self.name is not None:
            return f"api:{self.name}"
        return "sender:unknown"


@dataclass(frozen=True, slots=True)
class Acted:
    """What `act_on_alert` did: its outcome, whether this changed the alert, and who was told."""

    outcome: Outcome
    changed: bool = False
    notified: int = 0


_ROLES: dict[str, dict[Language, str]] = {
    "csic": {"en": "CSIC", "sw": "CSIC"},
    "mediator": {"en": "Mediator", "sw": "Mpatanishi"},
    "gender_desk": {"en": "Gender desk", "sw": "Dawati la jinsia"},
    "analyst": {"en": "Analyst", "sw": "Mchambuzi"},
    "other": {"en": "", "sw": ""},
}
_NATIONAL: dict[Language, str] = {"en": "national", "sw": "kitaifa"}
_NOTICES: dict[tuple[Action, Language], str] = {
    ("ack", "en"): "EWS: {who} acknowledged {ref}.",
    ("ack", "sw"): "EWS: {who} amethibitisha {ref}.",
    ("resolve", "en"): "EWS: {who} says {ref} is handled (resolved).",
    ("resolve", "sw"): "EWS: {who} amesema {ref} imeshughulikiwa (imekwisha).",
}


def actor_label(actor: Actor, language: Language, *, max_name: int = MAX_NAME_CHARS) -> str:
    """How a notice names who acted: "Amina (CSIC Kisumu)", "Otieno (Mpatanishi kitaifa)", "Wanjiru (EWS)"."""
    if actor.responder is None:
        return f"{_short(actor.name or '?', max_name)} (EWS)"
    responder = actor.responder
    name = _short(responder.name, max_name)
    if "(" in name:  # the directory's name already says who they are: "Achieng (CSIC Kisumu)"
        return name
    role = _ROLES.get(responder.role, _ROLES["other"])[language]
    place = responder.county_name or _NATIONAL[language]
    return f"{name} ({role} {place})" if role else f"{name} ({place})"


def notice_text(actor: Actor, action: Action, alert_id: int, language: Language) -> str:
    """What the alert's other recipients are told, in their language (within two SMS; see `sms_segments`)."""
    template, ref = _NOTICES[(action, language)], alert_reference(alert_id)
    text = template.format(who=actor_label(actor, language), ref=ref)
    max_name = MAX_NAME_CHARS
    # A name in another script (UCS-2, astral characters count twice) can push past two SMS: shorten it.
    while sms_segments(text)[0] > 2 and max_name > 1:
        max_name //= 2
        text = template.format(who=actor_label(actor, language, max_name=max_name), ref=ref)
    return text


def _short(name: str, limit: int) -> str:
    # No control characters in an SMS (a name given through the API may hold any).
    name = " ".join("".join(ch for ch in name if unicodedata.category(ch) != "Cc").split()) or "?"
    return name if len(name) <= limit else name[:max(1, limit - 1)] + "."


# GSM 03.38: the basic set (one septet) and the extension table (two: escape + char).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[int, bool]:
    """(segments, is GSM-7) of an SMS: 160/153 septets in GSM-7, else 70/67 UCS-2 code units."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text):
        units, single, part, gsm = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text), 160, 153, True
    else:
        units, single, part, gsm = len(text.encode("utf-16-le")) // 2, 70, 67, False
    return (1 if units <= single else -(-units // part)), gsm


async def act_on_alert(conn: asyncpg.Connection, *, alert_id: int, action: Action, actor: Actor,
                       now: datetime, note: str = "") -> Acted:
    """Acknowledge or resolve in the caller's transaction: audited whatever happens; the alert's other
    recipients are told (through the outbox) when it changed the alert."""
    alert = await lock_alert(conn, alert_id) if 0 < alert_id <= MAX_ALERT_ID else None
    if alert is not None and actor.responder is None and actor.name is None:
        alert = None  # an unknown sender learns nothing, not even that the alert exists
    allowed = alert is not None and (actor.responder is None or may_act(
        actor.responder.county_code, alert.county_code,
        was_sent=await was_sent_alert(conn, alert.id, actor.responder.id)))
    outcome = decide(action, alert, allowed=allowed)
    changed = False
    if outcome in ("acknowledged", "resolved"):
        mark = mark_acknowledged if action == "ack" else mark_resolved
        changed = await mark(conn, alert_id, now=now, responder_id=actor.responder.id if actor.responder else None,
                             name=None if actor.responder else actor.name)
        if changed and action == "resolve":
            # Everyone who was sent it is told below that it is handled; "back to normal" would be news
            # the engine has not given.
            await settle_quietly(conn, [alert_id])
    action_name = {"acknowledged": "alert.acknowledged", "resolved": "alert.resolved"}.get(outcome, "alert.refused")
    detail: dict[str, object] = {"action": action, "outcome": outcome, "first": changed, "via": actor.via}
    if note:
        detail["note"] = note
    if actor.responder is None and actor.sender_hash is not None:
        detail["sender_hash"] = actor.sender_hash  # keyed hash only: who tried, never their number
    await audit(conn, now=now, actor=actor.audit_name, action=action_name, subject=f"alert:{alert_id}",
                detail=detail)
    notified = 0
    if changed:
        except_responder = actor.responder.id if actor.responder else None
        for contact in await alert_audience(conn, alert_id, except_responder=except_responder):
            await enqueue_message(conn, kind=NOTICE_KIND, body=notice_text(actor, action, alert_id, contact.language),
                                  language=contact.language, now=now, responder_contact_id=contact.contact_id,
                                  alert_id=alert_id)
            notified += 1
    return Acted(outcome, changed, notified)
