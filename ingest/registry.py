"""The channels the service can mount. Built-ins register exactly as an extension would.

Channels that offer the gazetteer's places or the vocabulary's types (the web form, the partner API, USSD)
are registered by `ews.web.channels`, since ingest/ may not import rules/.
"""

from __future__ import annotations

from ews.core.registry import Registry
from ews.core.settings import Settings
from ingest.africastalking_sms import AfricasTalkingSms
from ingest.base import Channel
from ingest.twilio_sms import TwilioSms
from ingest.twilio_whatsapp import TwilioWhatsApp

channels: Registry[Channel] = Registry("channel")
"""Channel factories by name; a factory returns None when its channel is not configured."""


def build_configured(settings: Settings, registry: Registry[Channel] = channels) -> tuple[list[Channel], list[str]]:
    """The channels the settings configure, in registration order, and the names of those left out."""
    mounted: list[Channel] = []
    left_out: list[str] = []
    for name in registry.names():
        channel = registry.build(name, settings)
        if channel is None:
            left_out.append(name)
        else:
            mounted.append(channel)
    return mounted, left_out


def _twilio_sms(settings: Settings) -> TwilioSms | None:
    # Without an auth token nothing can be checked. That is allowed for a trial on this machine only:
    # a service reachable from elsewhere would take forged reports from anyone.
    if not settings.twilio_auth_token and not settings.listens_on_loopback:
        return None
    return TwilioSms(auth_token=settings.twilio_auth_token, public_url=settings.signing_url)


channels.register(TwilioSms.name, _twilio_sms)


def _twilio_whatsapp(settings: Settings) -> TwilioWhatsApp | None:
    # The same account and auth token as SMS, so mounted exactly when SMS is (a WhatsApp sender's webhook
    # can be pointed here, or at the SMS path: both read the channel from From).
    if not settings.twilio_auth_token and not settings.listens_on_loopback:
        return None
    return TwilioWhatsApp(auth_token=settings.twilio_auth_token, public_url=settings.signing_url)


channels.register(TwilioWhatsApp.name, _twilio_whatsapp)


def _africastalking_sms(settings: Settings) -> AfricasTalkingSms | None:
    # AT signs nothing: without a callback token anyone could post reports, so the routes are not mounted.
    if not settings.at_callback_token:
        return None
    return AfricasTalkingSms(token=settings.at_callback_token)


channels.register(AfricasTalkingSms.name, _africastalking_sms)
