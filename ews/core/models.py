"""Shared types that flow between ingest, intake, rules, dispatch and notifiers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Language = Literal["en", "sw"]


class Level(enum.IntEnum):
    """A county's escalation level; higher is worse."""

    NORMAL = 0
    WATCH = 1
    WARNING = 2
    ALERT = 3


@dataclass(frozen=True, slots=True)
class ReportIn:
    """A report as a channel parsed it. `sender` is the raw address and must never be stored or logged."""

    source: str
    external_id: str
    body: str
    sender: str = field(repr=False)
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A report ready for its row: place and language resolved, sender hashed, numbers scrubbed."""

    source: str
    external_id: str
    body: str
    sender_hash: str
    county_code: int | None
    language: Language
    received_at: datetime


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What intake committed for one report (or found already committed)."""

    report_id: int
    reference: str
    county_code: int | None
    language: Language
    created: bool


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


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of a send: status, the provider's id and a loggable reason."""

    status: DeliveryStatus
    provider_id: str | None = None
    reason: str = ""


def report_reference(report_id: int) -> str:
    """The short reference a reporter is given, e.g. EWS-4821."""
    return f"EWS-{report_id}"


def alert_reference(alert_id: int) -> str:
    """The short reference responders quote, e.g. A-123."""
    return f"A-{alert_id}"


class StorageUnavailable(Exception):
    """A report could not be committed; the caller must not acknowledge it."""
