"""Email notifier: one plain-text message per delivery over SMTP (aiosmtplib), STARTTLS or implicit TLS.

SMTP says in its reply code whether trying again can help: 4xx is a temporary refusal (greylisting, a full
queue, a rate limit), 5xx a permanent one (550 mailbox unavailable, 553 bad address). Exceptions carry the
server's text, which often quotes the recipient's address, so only the code reaches the delivery's reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from typing import ClassVar, Literal

import aiosmtplib

from ews.core.models import Delivery, DeliveryStatus, Language, Outgoing

Security = Literal["starttls", "tls", "none"]
SECURITY_MODES: tuple[Security, ...] = ("starttls", "tls", "none")

_WHY = {"en": "Why:", "sw": "Sababu:"}
_FOOTER = {
    "en": "Reference {ref}. This message was sent by the early-warning service; reply by SMS to acknowledge.",
    "sw": "Kumbukumbu {ref}. Ujumbe huu umetumwa na huduma ya tahadhari ya mapema; jibu kwa SMS kuthibitisha.",
}


def subject(message: Outgoing) -> str:
    """The subject line: the first sentence of the body's first line ("EWS WARNING: Kisumu county") and the
    reference. Never a line break: one would end the header (and could forge others)."""
    lines = message.body.strip().splitlines() or [""]
    head = lines[0].split(". ", 1)[0].strip().rstrip(".")[:120]
    return f"{head} ({message.reference})" if message.reference not in head else head


def text(message: Outgoing) -> str:
    """The plain-text body in the recipient's language: the SMS, the explanation if any, the reference."""
    language: Language = message.language if message.language in _WHY else "en"
    parts = [message.body.strip()]
    if message.explanation:
        parts.append(f"{_WHY[language]} {message.explanation.strip()}")
    parts.append(_FOOTER[language].format(ref=message.reference))
    return "\n\n".join(parts) + "\n"


def compose(message: Outgoing, *, sender: str) -> EmailMessage:
    """The email for `message`, from `sender` (pure)."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = subject(message)
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    email.set_content(text(message), subtype="plain", charset="utf-8")
    email["Content-Language"] = message.language  # after set_content, which drops every Content-* header
    return email


def by_code(code: int) -> DeliveryStatus:
    """An SMTP reply code's outcome: 4xx retryable, 5xx (and anything odd) permanent."""
    return DeliveryStatus.RETRYABLE if 400 <= code < 500 else DeliveryStatus.PERMANENT


def classify_error(exc: aiosmtplib.SMTPException) -> Delivery:
    """The outcome of a failed send, with a reason that names the code but never the address (pure)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients] or [550]
        # Refused for good only if every refusal was permanent.
        status = DeliveryStatus.RETRYABLE if any(by_code(c) is DeliveryStatus.RETRYABLE for c in codes) \
            else DeliveryStatus.PERMANENT
        return Delivery(status, reason=f"smtp recipient refused {codes[0]}")
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPConnectError,
                        aiosmtplib.SMTPServerDisconnected)) and not isinstance(exc, aiosmtplib.SMTPResponseException):
        return Delivery(DeliveryStatus.RETRYABLE, reason=f"smtp {type(exc).__name__}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Delivery(by_code(exc.code), reason=f"smtp {exc.code} ({type(exc).__name__})")
    # SMTPNotSupported (no STARTTLS, no AUTH) and the like: the configuration, not the moment, is wrong.
    return Delivery(DeliveryStatus.PERMANENT, reason=f"smtp {type(exc).__name__}")


class EmailNotifier:
    """Sends each message as a plain-text email through one SMTP server (a new connection per send)."""

    kind: ClassVar[str] = "email"
    channels: ClassVar[tuple[str, ...]] = ("email",)

    def __init__(self, *, host: str, sender: str, port: int = 587, security: Security = "starttls",
                 username: str | None = None, password: str | None = None, timeout: float = 15.0,
                 validate_certs: bool = True) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"EWS_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, got {security!r}")
        self._host = host
        self._port = port
        self._sender = sender
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout
        self._validate_certs = validate_certs

    def __repr__(self) -> str:
        hidden = "***" if self._password else None
        return (f"EmailNotifier(host={self._host!r}, port={self._port}, security={self._security!r}, "
                f"username={self._username!r}, password={hidden!r})")

    async def send(self, message: Outgoing) -> Delivery:
        """Send one email; never raises, and ends within the timeout whatever the server does."""
        email = compose(message, sender=self._sender)
        try:
            # aiosmtplib's timeout is per command; the outer one bounds the whole conversation.
            async with asyncio.timeout(self._timeout):
                await aiosmtplib.send(
                    email, hostname=self._host, port=self._port, username=self._username,
                    password=self._password, use_tls=self._security == "tls",
                    start_tls=self._security == "starttls",  # False: never upgrade; True: upgrade or fail
                    timeout=self._timeout, validate_certs=self._validate_certs)
        except aiosmtplib.SMTPException as exc:
            return classify_error(exc)
        except (TimeoutError, OSError) as exc:  # refused, reset, unreachable, or the deadline
            return Delivery(DeliveryStatus.RETRYABLE, reason=f"network: {type(exc).__name__}")
        return Delivery(DeliveryStatus.OK, provider_id=str(email["Message-ID"]).strip("<>")[:200])

    def secrets(self) -> Sequence[str]:
        """The SMTP password."""
        return (self._password,) if self._password else ()

    async def close(self) -> None:
        """Nothing kept open between sends."""
