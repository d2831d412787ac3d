"""Every word the web form shows, in English and Swahili (one table, so neither language is ever missing)."""

from __future__ import annotations

from ews.core.models import Language

TEXT: dict[str, dict[Language, str]] = {
    "title": {"en": "Report an incident", "sw": "Ripoti tukio"},
    "intro": {"en": "Tell us what happened. You do not need to give your name or phone number.",
              "sw": "Tuambie kilichotokea. Huhitaji kutoa jina lako wala nambari ya simu."},
    "danger": {"en": "If you are in danger now, call 999 or 112.", "sw": "Ukiwa hatarini sasa, piga 999 au 112."},
    "other_language": {"en": "Kiswahili", "sw": "English"},
    "county": {"en": "County", "sw": "Kaunti"},
    "choose": {"en": "Choose...", "sw": "Chagua..."},
    "constituency": {"en": "Constituency (optional)", "sw": "Eneo bunge (si lazima)"},
    "place": {"en": "Ward, estate, market or nearby place (optional)",
              "sw": "Wadi, mtaa, soko au mahali karibu (si lazima)"},
    "incident_type": {"en": "What kind of incident", "sw": "Aina ya tukio"},
    "not_sure": {"en": "Not sure", "sw": "Sina uhakika"},
    "when": {"en": "When did it happen (optional)", "sw": "Lilitokea lini (si lazima)"},
    "date_hint": {"en": "Date as 2027-08-09, time as 14:30 (Kenya time)",
                  "sw": "Tarehe kama 2027-08-09, saa kama 14:30 (saa za Kenya)"},
    "body": {"en": "What happened", "sw": "Nini kilitokea"},
    "send": {"en": "Send report", "sw": "Tuma ripoti"},
    "fix": {"en": "Please correct the fields marked below.", "sw": "Tafadhali sahihisha sehemu zilizoonyeshwa."},
    "thanks_title": {"en": "Thank you", "sw": "Asante"},
    "thanks": {"en": "Your report is received. Your reference is", "sw": "Ripoti yako imepokelewa. Kumbukumbu yako ni"},
    "another": {"en": "Send another report", "sw": "Tuma ripoti nyingine"},
    "err_county": {"en": "Choose the county where it happened.", "sw": "Chagua kaunti ambapo lilitokea."},
    "err_constituency": {"en": "Choose a constituency of the county chosen above, or leave it empty.",
                         "sw": "Chagua eneo bunge la kaunti uliyochagua juu, au uache wazi."},
    "err_type": {"en": "Choose a kind of incident from the list.", "sw": "Chagua aina ya tukio kutoka kwenye orodha."},
    "err_body": {"en": "Write what happened.", "sw": "Andika kilichotokea."},
    "err_body_long": {"en": "Please write at most {limit} characters (you wrote {count}).",
                      "sw": "Tafadhali andika herufi zisizozidi {limit} (umeandika {count})."},
    "err_place_long": {"en": "Please write at most {limit} characters.",
                       "sw": "Tafadhali andika herufi zisizozidi {limit}."},
    "err_date": {"en": "Write the date as 2027-08-09: not in the future.",
                 "sw": "Andika tarehe kama 2027-08-09: isiwe ya baadaye."},
    "err_time": {"en": "Write the time as 14:30, with a date.", "sw": "Andika saa kama 14:30, pamoja na tarehe."},
    "err_text": {"en": "Remove the invisible control characters.", "sw": "Ondoa herufi za udhibiti zisizoonekana."},
    "csrf_title": {"en": "Please send the form again", "sw": "Tafadhali tuma fomu tena"},
    "csrf": {"en": "This form had expired or did not come from this site, so nothing was sent.",
             "sw": "Fomu hii ilikuwa imepitwa na wakati au haikutoka kwenye tovuti hii, "
                   "kwa hiyo hakuna kilichotumwa."},
    "back": {"en": "Back to the form", "sw": "Rudi kwenye fomu"},
    "slow_title": {"en": "Too many reports", "sw": "Ripoti nyingi mno"},
    "slow": {"en": "Too many reports came from this connection. Please wait {minutes} minutes and try again.",
             "sw": "Ripoti nyingi mno zimetoka kwenye muunganisho huu. "
                   "Tafadhali subiri dakika {minutes} ujaribu tena."},
    "busy_title": {"en": "Not sent yet", "sw": "Bado haijatumwa"},
    "busy": {"en": "We could not store your report just now. Please send it again.",
             "sw": "Hatukuweza kuhifadhi ripoti yako sasa hivi. Tafadhali itume tena."},
}
