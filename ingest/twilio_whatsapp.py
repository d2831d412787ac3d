"""Twilio WhatsApp webhook: the Twilio SMS webhook on a path of its own, for a WhatsApp sender's setting.

Signed and answered exactly like SMS (X-Twilio-Signature over the URL Twilio called; the receipt in the TwiML
answer, which Twilio sends back over WhatsApp inside the 24-hour window the inbound message opened).
"""

from __future__ import annotations

from typing import ClassVar

from ews.core.models import ChannelName
from ingest.twilio_sms import TwilioSms


class TwilioWhatsApp(TwilioSms):
    """Inbound WhatsApp from Twilio (`From=whatsapp:+254...`), authenticated as Twilio SMS is."""

    name: ClassVar[ChannelName] = "twilio_whatsapp"
    path: ClassVar[str] = "/ingest/twilio/whatsapp"
