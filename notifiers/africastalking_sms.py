"""Africa's Talking SMS notifier: one form POST to AT's messaging API over aiohttp.

The official SDK (2.0.3) is synchronous (`requests`, a thread per callback) and has no base-URL setting,
so it would block the event loop and could not be pointed at a loopback server; the API is one form POST,
written here. AT answers 2xx with each recipient's outcome as a `statusCode` in the JSON body: that, not
the HTTP status, says whether the message went.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import aiohttp

from ews.core.models import Delivery, DeliveryStatus, Outgoing

log = logging.getLogger(__name__)

AT_API = "https://api.africastalking.com"
AT_SANDBOX_API = "https://api.sandbox.africastalking.com"
MESSAGING_PATH = "/version1/messaging"

SENT_CODES = {100: "Processed", 101: "Sent", 102: "Queued"}
# A later attempt can cure these: AT's own trouble, an account hold or an empty balance being topped up.
RETRYABLE_CODES = {401: "RiskHold", 405: "InsufficientBalance", 500: "InternalServerError", 501: "GatewayError",
                   502: "RejectedByGateway"}
# The number or sender is wrong, or the recipient blocked us: the same request fails the same way again.
PERMANENT_CODES = {402: "InvalidSenderId", 403: "InvalidPhoneNumber", 404: "UnsupportedNumberType",
                   406: "UserInBlacklist", 407: "CouldNotRoute", 409: "DoNotDisturbRejection"}


def classify(body: Mapping[str, Any]) -> Delivery:
    """The outcome of a send from AT's JSON answer: the first recipient's statusCode (pure)."""
    data = body.get("SMSMessageData") if isinstance(body, Mapping) else None
    recipients = data.get("Recipients") if isinstance(data, Mapping) else None
    if not isinstance(recipients, list) or not recipients or not isinstance(recipients[0], Mapping):
        # AT names the problem in Message (e.g. "InvalidSenderId") and lists nobody: nothing was sent.
        message = str(data.get("Message", "")) if isinstance(data, Mapping) else ""
        return Delivery(DeliveryStatus.PERMANENT, reason=f"at: no recipient accepted ({message[:60]})")
    recipient = recipients[0]
    code = recipient.get("statusCode")
    if isinstance(code, str) and code.isdecimal():
        code = int(code)
    status = str(recipient.get("status", ""))[:40]
    if code in SENT_CODES:
        return Delivery(DeliveryStatus.OK, provider_id=str(recipient.get("messageId", "")) or None,
                        reason=f"at {code} {status}")
    if code in RETRYABLE_CODES:
        return Delivery(DeliveryStatus.RETRYABLE, reason=f"at {code} {RETRYABLE_CODES[code]}")
    if code in PERMANENT_CODES:
        return Delivery(DeliveryStatus.PERMANENT, reason=f"at {code} {PERMANENT_CODES[code]}")
    # An unknown code: retry within the window rather than drop a receipt or an alert on a guess.
    return Delivery(DeliveryStatus.RETRYABLE, reason=f"at unknown statusCode {code!r} {status}")


def by_http_status(status: int) -> Delivery:
    """The outcome when AT did not answer 2xx: 429 and 5xx retry, other 4xx (bad key, bad request) do not."""
    retryable = status == 429 or status >= 500
    return Delivery(DeliveryStatus.RETRYABLE if retryable else DeliveryStatus.PERMANENT, reason=f"at http {status}")


class AfricasTalkingSmsNotifier:
    """Sends SMS through AT's messaging API; quotes AT's linkId when replying to a premium message."""

    kind: ClassVar[str] = "africastalking_sms"
    channels: ClassVar[tuple[str, ...]] = ("sms",)

    def __init__(self, *, username: str, api_key: str, sender: str | None = None, api_base: str | None = None,
                 timeout: float = 15.0, keyword: str | None = None) -> None:
        self._username = username
        self._api_key = api_key
        self._sender = sender
        self._keyword = keyword
        base = api_base or (AT_SANDBOX_API if username == "sandbox" else AT_API)
        self._url = base.rstrip("/") + MESSAGING_PATH
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def form(self, message: Outgoing) -> dict[str, str]:
        """The form AT's messaging API takes for `message` (as the SDK's send and send_premium build it)."""
        form = {"username": self._username, "to": message.to, "message": message.body, "bulkSMSMode": "1"}
        if self._sender:
            form["from"] = self._sender
        if message.link_id:
            form.update(bulkSMSMode="0", linkId=message.link_id)
            if self._keyword:  # a shared shortcode: AT routes the premium reply by the keyword too
                form["keyword"] = self._keyword
        return form

    async def send(self, message: Outgoing) -> Delivery:
        """Send one SMS; never raises."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        headers = {"apiKey": self._api_key, "Accept": "application/json"}
        try:
            async with self._session.post(self._url, data=self.form(message), headers=headers) as response:
                text = await response.text()
                if not 200 <= response.status < 300:
                    return by_http_status(response.status)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return Delivery(DeliveryStatus.RETRYABLE, reason=f"network: {type(exc).__name__}")
        try:
            body = json.loads(text)
        except ValueError:
            return Delivery(DeliveryStatus.RETRYABLE, reason="at answered 2xx without JSON")
        return classify(body)

    def secrets(self) -> Sequence[str]:
        """The API key."""
        return (self._api_key,)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
