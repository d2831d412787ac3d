"""The channels the service can mount. Built-ins register exactly as an extension would."""

from __future__ import annotations

from ews.core.registry import Registry
from ews.core.settings import Settings
from ingest.base import Channel
from ingest.twilio_sms import TwilioSms

channels: Registry[Channel] = Registry("channel")
"""Channel factories by name; a factory returns None when its channel is not configured."""


def build_configured(settings: Settings) -> list[Channel]:
    """Every channel the settings configure, in registration order."""
    built = (channels.build(name, settings) for name in channels.names())
    return [channel for channel in built if channel is not None]


# Twilio SMS is always mounted: unsigned when no auth token is set (start-up warns loudly), as the
# foundation promised for trying the service out.
channels.register(TwilioSms.name, lambda s: TwilioSms(auth_token=s.twilio_auth_token, public_url=s.signing_url))
