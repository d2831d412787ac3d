"""Twilio SMS notifier, through the twilio package's own client."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from ews.core.models import TWILIO_PERMANENT_CODES, Delivery, DeliveryStatus, Outgoing

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"

# Twilio error codes that a later attempt can cure (unreachable handset, unknown error, rate limit).
_RETRYABLE_CODES = {20429, 30003, 30008, 30001, 30002}
# Where Twilio posts the message's later statuses (ingest.twilio_sms.TwilioSms.status_path; a test
# checks they agree, since notifiers/ may not import ingest/).
STATUS_CALLBACK_PATH = "/ingest/twilio/status"


def classify_error(status: int, code: int | None) -> DeliveryStatus:
    """The outcome of an error answer of the Messages API, by Twilio's code first, then the HTTP status."""
    if code in TWILIO_PERMANENT_CODES:  # whatever the HTTP status says; the status callbacks use the same list
        return DeliveryStatus.PERMANENT
    retryable = status == 429 or status >= 500 or code in _RETRYABLE_CODES
    return DeliveryStatus.RETRYABLE if retryable else DeliveryStatus.PERMANENT


class _RebasedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The documented custom-http-client hook: send to another base URL (loopback in tests, a proxy)."""

    def __init__(self, base_url: str | None, timeout: float) -> None:
        # max_retries stays None: aiohttp_retry would retry POSTs and send duplicate SMS.
        super().__init__(timeout=timeout, logger=logging.getLogger("ews.twilio_http"))
        self._base = base_url.rstrip("/") if base_url else None

    async def request(self, method: str, url: str, params: Any = None, data: Any = None, headers: Any = None,
                      auth: Any = None, timeout: float | None = None, allow_redirects: bool = False) -> Any:
        if self._base and url.startswith(TWILIO_API):
            url = self._base + url[len(TWILIO_API):]
        # twilio 9's async request() hands aiohttp only this per-call timeout and never the one given to
        # the constructor, and aiohttp reads None as "wait forever": a gateway that accepts the connection
        # and never answers would hold the send (and its lease) for good. Apply the client's own deadline.
        return await super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                     timeout=timeout if timeout is not None else self.timeout,
                                     allow_redirects=allow_redirects)


class TwilioSmsNotifier:
    """Sends SMS with Twilio's Messages API; classifies failures as retryable or permanent."""

    kind: ClassVar[str] = "twilio_sms"
    channels: ClassVar[tuple[str, ...]] = ("sms",)

    def __init__(self, *, account_sid: str, auth_token: str, sender: str, api_base: str | None = None,
                 validity_seconds: int = 900, timeout: float = 15.0, status_callback: str | None = None) -> None:
        self._auth_token = auth_token
        self._status_callback = status_callback  # None: Twilio posts no statuses (no public URL to post to)
        self._sender = sender
        self._validity = max(1, min(validity_seconds, 36000))  # Twilio accepts 1..36000
        self._http = _RebasedHttpClient(api_base, timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)

    async def send(self, message: Outgoing) -> Delivery:
        """Send one SMS; never raises."""
        options: dict[str, Any] = {"messaging_service_sid": self._sender} if self._sender.startswith("MG") \
            else {"from_": self._sender}
        if self._status_callback:
            options["status_callback"] = self._status_callback
        try:
            created = await self._client.messages.create_async(
                to=message.to, body=message.body, validity_period=self._validity, **options,
            )
        except TwilioRestException as exc:
            # exc.msg can quote the To number: keep only the status and Twilio's code.
            return Delivery(classify_error(exc.status, exc.code), reason=f"twilio http {exc.status} code {exc.code}")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return Delivery(DeliveryStatus.RETRYABLE, reason=f"network: {type(exc).__name__}")
        return Delivery(DeliveryStatus.OK, provider_id=str(created.sid))

    def secrets(self) -> Sequence[str]:
        """The auth token."""
        return (self._auth_token,)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()
