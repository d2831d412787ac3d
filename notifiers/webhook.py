"""Webhook notifier: one signed JSON POST per delivery to a partner's URL (aiohttp).

The receiver checks `X-EWS-Signature`, the hex HMAC-SHA256 of `timestamp + "." + body` under the secret it
shares with us, and rejects a stale `X-EWS-Timestamp`, so a captured request cannot be replayed later (the
README's snippet does both). The secret is the receiver's own (EWS_WEBHOOK_SECRETS, by origin) or else the
global EWS_WEBHOOK_SECRET. URLs can carry tokens in their query, so they never reach a log or a reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp

from ews.core.clock import utcnow
from ews.core.models import Delivery, DeliveryStatus, Outgoing

SIGNATURE_HEADER = "X-EWS-Signature"
TIMESTAMP_HEADER = "X-EWS-Timestamp"
PAYLOAD_VERSION = 1
MAX_RETRY_AFTER = timedelta(hours=1)  # a receiver cannot park a message for longer than this


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `timestamp.body` under `secret` (what X-EWS-Signature carries)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def payload(message: Outgoing, *, now: datetime) -> bytes:
    """The JSON body for `message` (UTF-8, compact, keys sorted so equal messages are equal bytes)."""
    document: dict[str, Any] = {
        "version": PAYLOAD_VERSION, "reference": message.reference, "language": message.language,
        "text": message.body, "explanation": message.explanation, "recipient": message.recipient_label,
        "sent_at": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def origin(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased (the key of a per-receiver secret)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}"


def parse_secrets(text: str | None) -> dict[str, str]:
    """EWS_WEBHOOK_SECRETS ('https://a.example.org=s1,https://b.example.org:8443=s2') by origin."""
    found: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        url, sep, secret = item.strip().rpartition("=")
        if not sep or not url or not secret or not urlsplit(url).hostname:
            raise ValueError("EWS_WEBHOOK_SECRETS entries are ORIGIN=SECRET, e.g. https://partner.example.org=s3cr3t")
        found[origin(url)] = secret
    return found


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """Retry-After as a wait (delta-seconds or an HTTP date), at most MAX_RETRY_AFTER; None if absent or odd."""
    if not value:
        return None
    value = value.strip()
    if value.isdecimal():
        wait = timedelta(seconds=int(value[:9]))  # nine digits is already years: no huge integers
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = when - now
    return max(timedelta(0), min(wait, MAX_RETRY_AFTER))


def classify(status: int, retry_after: timedelta | None = None) -> Delivery:
    """The outcome of the receiver's HTTP status: 2xx ok; 408, 429, 5xx retryable; the rest permanent."""
    if 200 <= status < 300:
        return Delivery(DeliveryStatus.OK, reason=f"webhook http {status}")
    if status in (408, 429) or status >= 500:
        return Delivery(DeliveryStatus.RETRYABLE, reason=f"webhook http {status}", retry_after=retry_after)
    # 3xx included: a redirect is not followed (it could send the signed alert somewhere else).
    return Delivery(DeliveryStatus.PERMANENT, reason=f"webhook http {status}")


class WebhookNotifier:
    """POSTs each message as signed JSON to the contact's webhook URL."""

    kind: ClassVar[str] = "webhook"
    channels: ClassVar[tuple[str, ...]] = ("webhook",)

    def __init__(self, *, secret: str | None = None, secrets_by_origin: Mapping[str, str] | None = None,
                 timeout: float = 15.0, clock: Callable[[], datetime] = utcnow) -> None:
        self._secret = secret
        self._by_origin = {origin(url): value for url, value in (secrets_by_origin or {}).items()}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"WebhookNotifier(secret={'***' if self._secret else None}, receivers={len(self._by_origin)})"

    def secret_for(self, url: str) -> str | None:
        """The receiver's own secret, else the global one (None: this URL cannot be signed)."""
        return self._by_origin.get(origin(url), self._secret)

    async def send(self, message: Outgoing) -> Delivery:
        """POST one message; never raises."""
        secret = self.secret_for(message.to)
        if secret is None:
            return Delivery(DeliveryStatus.PERMANENT, reason="no webhook secret for this receiver "
                                                             "(EWS_WEBHOOK_SECRET or EWS_WEBHOOK_SECRETS)")
        now = self._clock()
        body = payload(message, now=now)
        timestamp = str(int(now.timestamp()))
        headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: sign(secret, timestamp, body), "User-Agent": "ews-webhook/1",
                   "X-EWS-Reference": message.reference}
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(message.to, data=body, headers=headers, allow_redirects=False) as answer:
                await answer.read()  # drain it, so the connection can be reused
                retry_after = parse_retry_after(answer.headers.get("Retry-After"), now=self._clock())
                return classify(answer.status, retry_after)
        except aiohttp.InvalidURL:
            return Delivery(DeliveryStatus.PERMANENT, reason="webhook URL is invalid")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return Delivery(DeliveryStatus.RETRYABLE, reason=f"network: {type(exc).__name__}")

    def secrets(self) -> Sequence[str]:
        """The global secret and every receiver's own."""
        return tuple(value for value in (self._secret, *self._by_origin.values()) if value)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
