"""The suite's phone numbers in every written form, and its secrets: what no log line or output may hold."""

from __future__ import annotations

from tests.conftest import (
    AT_API_KEY,
    AT_TOKEN,
    CONTACT_KEY,
    REPORTER_PHONES,
    RESPONDER_PHONES,
    SENDER_KEY,
    SMTP_PASSWORD,
    TWILIO_TOKEN,
    WEBHOOK_SECRET,
)

SECRETS = (TWILIO_TOKEN, SENDER_KEY, CONTACT_KEY, AT_TOKEN, AT_API_KEY, SMTP_PASSWORD, WEBHOOK_SECRET)


def phone_forms(phone: str) -> list[str]:
    """The ways a Kenyan number is written: +254712345678, 254712345678, 0712345678, 0712 345 678."""
    national = phone[4:]
    return [phone, phone[1:], "0" + national, national, f"0{national[:3]} {national[3:6]} {national[6:]}",
            f"{national[:3]} {national[3:6]} {national[6:]}"]


FORBIDDEN = [form for phone in REPORTER_PHONES + RESPONDER_PHONES for form in phone_forms(phone)]


def leaks(text: str) -> list[str]:
    """The phone numbers and secrets found in `text`."""
    return [item for item in (*FORBIDDEN, *SECRETS) if item in text]
