"""Shared types that flow between ingest, intake, rules, dispatch and notifiers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal, get_args

Language = Literal["en", "sw"]

Variety = Literal["en", "sw", "sheng", "mixed"]
"""The language a report is written in, as detected; its reply language is a `Language`."""


class Level(enum.IntEnum):
    """A county's escalation level; higher is worse."""

    NORMAL = 0
    WATCH = 1
    WARNING = 2
    ALERT = 3


KENYA_TIME = timezone(timedelta(hours=3), "EAT")
"""East Africa Time (UTC+3, no daylight saving): the days of forms, imports, exports and rule periods."""

ChannelName = Literal["twilio_sms", "twilio_whatsapp", "at_sms", "at_ussd", "web_form", "partner_api", "import"]

CHANNELS: tuple[ChannelName, ...] = get_args(ChannelName)
"""Every inbound channel a report can arrive through (the `channel` of a report)."""

OutboundKind = Literal["alert", "receipt", "question", "ack_confirmation"]

OUTBOUND_KINDS: tuple[OutboundKind, ...] = get_args(OutboundKind)
"""What an outgoing message is for: all of them ride the one outbox."""

CommandKind = Literal["stop", "start", "help", "ack", "resolve"]

Forwarded = Literal["forwarded", "frequently_forwarded"]
"""WhatsApp's mark on a message the reporter forwarded (frequently: it passed through many chats)."""


@dataclass(frozen=True, slots=True)
class ReportIn:
    """A report as a channel parsed it, with the structured fields the channel already knows.

    `sender` is the raw address and must never be stored or logged (empty when the channel has none, as
    for an anonymous web form). `source` is the namespace of `external_id` for idempotency; it defaults
    to the channel (a partner API uses one per partner). Fields left None are worked out by intake
    from the text where it can, and never re-guessed when the channel gave them.
    """

    channel: ChannelName
    external_id: str
    body: str
    sender: str = field(repr=False)
    received_at: datetime
    source: str = ""
    county_code: int | None = None  # 1-47
    constituency_code: int | None = None  # IEBC 1-290
    ward_code: str | None = None  # IEBC ward code as text, leading zeros kept: "0217"
    incident_type: str | None = None  # a code of rules.vocabulary.INCIDENT_TYPES
    casualties: int | None = None  # people hurt or killed, when known
    occurred_at: datetime | None = None  # when it happened, if the reporter said
    language: Language | None = None  # when the channel knows it (a USSD menu's language)
    latitude: float | None = None  # WGS84, when the channel gave a point (partner API, import)
    longitude: float | None = None
    partner: str | None = None  # the partner organisation a partner-API report is attributed to
    link_id: str | None = field(default=None, repr=False)  # AT's linkId: a premium reply must quote it
    media_count: int = 0  # photos, voice notes, documents attached (WhatsApp); never fetched
    media_types: tuple[str, ...] = ()  # their content types, e.g. ("image/jpeg",); never their URLs
    forwarded: Forwarded | None = None  # WhatsApp says the message was forwarded (someone else's words)

    @property
    def idempotency_source(self) -> str:
        """The namespace of `external_id`: `source`, else the channel."""
        return self.source or self.channel


@dataclass(frozen=True, slots=True)
class Command:
    """An inbound message that asks for something instead of reporting (STOP, START, HELP, ACK 12, DONE 12)."""

    kind: CommandKind
    channel: ChannelName
    external_id: str
    sender: str = field(repr=False)
    received_at: datetime
    argument: str = ""  # the alert number of an ACK or DONE
    language: Language = "en"  # the language the keyword was in, for the reply
    source: str = ""
    link_id: str | None = field(default=None, repr=False)  # AT's linkId, for a reply on a premium service

    @property
    def idempotency_source(self) -> str:
        """The namespace of `external_id`: `source`, else the channel."""
        return self.source or self.channel


Inbound = ReportIn | Command
"""What a channel parses one inbound message into."""


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A report ready for its row: place and language resolved, sender hashed, numbers scrubbed."""

    source: str
    external_id: str
    channel: ChannelName
    body: str
    sender_hash: str
    county_code: int | None
    language: Variety
    received_at: datetime
    constituency_code: int | None = None
    ward_code: str | None = None
    incident_type: str | None = None
    casualties: int | None = None
    occurred_at: datetime | None = None
    trust: float | None = None  # 0..1 once reporter trust is scored; None: not yet known
    place_confidence: float | None = None  # 0..1 how sure the place is (1: the channel or a person gave it)
    place_span: str | None = None  # the words of the text that named the place
    place_source: str | None = None  # channel | text (None: no place)
    place_ambiguous: bool = False  # the text's name means places in several counties and nothing settled it
    latitude: float | None = None
    longitude: float | None = None
    partner: str | None = None
    flooding: bool = False  # the sender was over the flood rate: stored, not counted, no receipt
    repeat_of: int | None = None  # a near-identical earlier report of the same sender: not counted again
    monitor_id: int | None = None  # sent by a registered monitor (the trust mark)
    sensitive: bool = False  # may be sexual or gender-based violence: hidden from uncleared callers
    severity: str | None = None  # low | medium | high | critical (rules.severity)
    reply_language: Language = "en"  # the language every message back is in
    media_count: int = 0
    media_types: tuple[str, ...] = ()
    forwarded: Forwarded | None = None


@dataclass(frozen=True, slots=True)
class Unplaced:
    """A committed report as the placing stage reads it."""

    id: int
    body: str
    county_code: int | None
    constituency_code: int | None
    ward_code: str | None
    place_source: str | None
    monitor_id: int | None
    incident_type: str | None
    casualties: int | None


@dataclass(frozen=True, slots=True)
class Understood:
    """What the placing stage found for one report: its place (as stored after), sensitivity, severity."""

    id: int
    county_code: int | None
    constituency_code: int | None
    ward_code: str | None
    place_confidence: float | None
    place_span: str | None
    place_source: str | None
    place_ambiguous: bool
    sensitive: bool
    severity: str


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What a command did, for the channel's reply: a reply kind and, for ACK, the alert number."""

    kind: CommandKind
    reply: str  # help | stopped | started | monitor_help | acknowledged | resolved | already_resolved |
    #             ack_unknown | ack_other_county
    language: Language
    alert_id: int | None = None
    texts: tuple[str, ...] = ()  # the reply as intake wrote it (a monitor's HELP), instead of `reply`'s template


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What intake committed for one report (or found already committed)."""

    report_id: int
    reference: str
    county_code: int | None
    language: Language
    created: bool
    receipt: bool = True  # False: the sender opted out or is flooding, so no receipt goes back


class DeliveryStatus(enum.Enum):
    """How one send attempt ended."""

    OK = "ok"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to one recipient. `to` is the real address; notifiers must not log it."""

    to: str = field(repr=False)
    body: str
    recipient_label: str
    language: Language
    reference: str
    channel: str = "sms"  # the kind of address `to` is: sms, email, webhook
    link_id: str | None = None  # AT's linkId of the inbound message this answers (premium services)
    # Why the alert fired, in the recipient's language (the engine's explanation); too long for an SMS,
    # so only the email and webhook notifiers carry it.
    explanation: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of a send: status, the provider's id and a loggable reason."""

    status: DeliveryStatus
    provider_id: str | None = None
    reason: str = ""
    retry_after: timedelta | None = None  # the provider asked us to wait this long (HTTP Retry-After)


def report_reference(report_id: int) -> str:
    """The short reference a reporter is given, e.g. EWS-4821."""
    return f"EWS-{report_id}"


def alert_reference(alert_id: int) -> str:
    """The short reference responders quote, e.g. A-123."""
    return f"A-{alert_id}"


class StorageUnavailable(Exception):
    """A report could not be committed; the caller must not acknowledge it."""


@dataclass(frozen=True, slots=True)
class ResponderEntry:
    """One responder as written in a directory file, validated."""

    name: str
    phone: str = field(repr=False)
    county_code: int | None
    role: str
    language: Language
    email: str | None = field(default=None, repr=False)
    webhook: str | None = field(default=None, repr=False)
    sms_notifier: str | None = None  # the SMS gateway to send through first (None: EWS_NOTIFIERS order)

    def contacts(self) -> list[tuple[str, str]]:
        """(channel, address) for every address given: sms always, email and webhook when set."""
        found = [("sms", self.phone)]
        found += [(channel, address) for channel, address in (("email", self.email), ("webhook", self.webhook))
                  if address]
        return found


@dataclass(frozen=True, slots=True)
class ImportReady:
    """A row ready for COPY: the stored report and the columns only history carries."""

    line: int
    report: StoredReport
    severity: str | None
    sensitive: bool


# Twilio error codes no later attempt can cure, whether they come in the Messages API's 4xx answer or in a
# status callback: the number is wrong, a landline, unknown, or its owner unsubscribed (STOP).
TWILIO_PERMANENT_CODES: dict[int, str] = {
    21211: "invalid To number", 21610: "recipient unsubscribed (STOP)", 21614: "not a mobile number",
    30005: "unknown or inactive number", 30006: "landline or unreachable carrier",
}
TWILIO_UNSUBSCRIBED = 21610


# AT's delivery report statuses (capitalised) and Twilio's MessageStatus values (lower case).
DeliveryState = Literal["Sent", "Submitted", "Buffered", "Rejected", "Success", "Failed",
                        "accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered",
                        "failed", "canceled", "read", "partially_delivered"]


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A gateway's later word on a message it accepted (AT's delivery report, Twilio's status callback),
    keyed by its message id."""

    provider_id: str
    status: DeliveryState
    rank: int  # how far along the message is: a report only ever moves a delivery to a higher rank
    reason: str = ""  # failureReason / ErrorCode, when the gateway gave one
    opted_out: bool = False  # the recipient blocked us (UserInBlackList, Twilio 21610)
    address: str = field(default="", repr=False)  # the recipient's number, never stored or logged
    permanent: bool = False  # failed for good (an invalid or unreachable number): dead-letter the delivery
    channel: ChannelName = "at_sms"  # the gateway that sent the report


@dataclass(frozen=True, slots=True)
class MonitorEntry:
    """One monitor as written in the file, validated."""

    name: str
    phone: str = field(repr=False)
    county_code: int
    ward_code: str | None
    organisation: str
    language: Language


@dataclass(frozen=True, slots=True)
class MonitorHome:
    """A registered monitor: id and home place (the default when a report names none)."""

    id: int
    county_code: int
    ward_code: str | None = None


@dataclass(frozen=True, slots=True)
class SenderHistory:
    """What the database knows of one sender at intake."""

    opted_out: bool = False
    monitor: MonitorHome | None = None
    recent: tuple[datetime, ...] = ()  # times of their latest reports within the flood window
    # (id, body, received_at) of their reports in the repeat window that are no repeat themselves, oldest first
    originals: tuple[tuple[int, str, datetime], ...] = ()


@dataclass(slots=True)
class IncidentSpan:
    """An incident's key and time span, as far as grouping knows it (id None: not created yet). Shared by
    the grouping decision (rules.incidents) and the incidents repository."""

    key: tuple[str, str, str]  # type group, place level, place code
    first_at: datetime
    last_at: datetime
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ReviewState:
    """The reviewable part of a stored report (rules.review decides it, the review repository stores it)."""

    review_status: str
    incident_type: str | None
    type_source: str | None
    type_confidence: float | None
    needs_review: bool
    sensitive: bool
    severity: str | None
    duplicate_of_report: int | None
    duplicate_of_incident: int | None
    incident_id: int | None


FieldChange = tuple[str, str | None, str | None]
"""One field an analyst's review changed: field, old value, new value (as text, for the record)."""
