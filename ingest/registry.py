"""The channels the service can mount. Built-ins register exactly as an extension would."""

from __future__ import annotations

from ews.core.registry import Registry
from ews.core.settings import Settings
from ingest.base import Channel
from ingest.partner_api import PartnerApi
from ingest.twilio_sms import TwilioSms
from ingest.web_form import WebForm, form_key
from rules.gazetteer import COUNTIES
from rules.vocabulary import INCIDENT_TYPES

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


def _partner_api(_settings: Settings) -> PartnerApi:
    # Always mounted: it refuses every request without a token made by `ews tokens create`.
    return PartnerApi(incident_types=[t.code for t in INCIDENT_TYPES])


def _web_form(settings: Settings) -> WebForm | None:
    if not settings.web_form:
        return None
    assert settings.sender_key
    return WebForm(csrf_key=form_key(settings.sender_key), counties=[(c.code, c.name) for c in COUNTIES],
                   incident_types=[(t.code, t.label_en, t.label_sw) for t in INCIDENT_TYPES],
                   rate_limit=settings.form_rate_limit, rate_window=settings.form_rate_window,
                   forwarded_for=settings.forwarded_for)


channels.register(PartnerApi.name, _partner_api)
channels.register(WebForm.name, _web_form)
