"""The channels that are handed the gazetteer's places and the vocabulary's types, registered from here.

ingest/ may not import rules/, so these factories live beside the composition root, which imports this
module: they register into the same registry, exactly as an extension would.
"""

from __future__ import annotations

from ews.core.settings import Settings
from ews.intake.menus import ussd_menu_data
from ews.web.places import place_tree
from ingest.africastalking_ussd import AfricasTalkingUssd
from ingest.partner_api import PartnerApi
from ingest.registry import channels
from ingest.web_form import WebForm, form_key
from rules.gazetteer import COUNTIES
from rules.vocabulary import INCIDENT_TYPES


def _partner_api(_settings: Settings) -> PartnerApi:
    # Always mounted: it refuses every request without a token made by `ews tokens create`.
    return PartnerApi(incident_types=[t.code for t in INCIDENT_TYPES], places=place_tree())


def _web_form(settings: Settings) -> WebForm | None:
    if not settings.web_form:
        return None
    assert settings.sender_key
    return WebForm(csrf_key=form_key(settings.sender_key), counties=[(c.code, c.name) for c in COUNTIES],
                   incident_types=[(t.code, t.label_en, t.label_sw) for t in INCIDENT_TYPES],
                   rate_limit=settings.form_rate_limit, rate_window=settings.form_rate_window,
                   forwarded_for=settings.forwarded_for,
                   constituencies=[(code, name, county)
                                   for code, (county, name) in sorted(place_tree().constituencies.items())])


def _at_ussd(settings: Settings) -> AfricasTalkingUssd | None:
    # The same secret as AT's SMS callbacks: without it anyone could post reports, so no route.
    if not settings.at_callback_token:
        return None
    codes = frozenset(code.strip() for code in (settings.at_ussd_codes or "").split(",") if code.strip())
    return AfricasTalkingUssd(token=settings.at_callback_token, menu=ussd_menu_data(), service_codes=codes)


channels.register(PartnerApi.name, _partner_api)
channels.register(WebForm.name, _web_form)
channels.register(AfricasTalkingUssd.name, _at_ussd)
