"""Alert messages in English and Swahili (pure): the SMS and the email telling a receiver about a group of
alerts (`render_sms`, `render_email`). An SMS is short, at most two
segments, GSM-7 where it can be, and says where, what, since when, the reference and how to ACK."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ews.alerting.acknowledgements import sms_segments
from ews.core.models import KENYA_TIME, Language, Level, alert_reference

_LEVEL_NAMES: dict[Language, dict[Level, str]] = {
    "en": {Level.NORMAL: "NORMAL", Level.WATCH: "WATCH", Level.WARNING: "WARNING", Level.ALERT: "ALERT"},
    "sw": {Level.NORMAL: "KAWAIDA", Level.WATCH: "UANGALIZI", Level.WARNING: "ONYO", Level.ALERT: "HATARI"},
}

# --- Grouped messages (firing, resolved, escalation) -------------------------------------------------------
#
# One message tells one receiver about a group of alerts. The SMS is at most two segments and GSM-7 where it
# can be: text from outside (county names, the engine's why lines) is cleaned first (control and format
# characters dropped, curly quotes, dashes and accents folded to GSM-7), then shortened to fit. Times are East
# Africa Time as "14:05 1 Dec" (a pure function cannot know today's date, so the day is always given).


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One alert of a group as a message tells it."""

    alert_id: int
    county_name: str  # "Kisumu"
    level: Level  # current level (Level.NORMAL when closed, for resolved messages)
    group: str  # incident-type group: violence, sgbv, tension, communal, election, peace, none, all
    why_en: str  # engine's line: "12 reports of armed attack in 24 h; usual 1-2"
    why_sw: str  # "ripoti 12 za ... ndani ya saa 24; kawaida 1-2"
    opened_at: datetime  # aware UTC
    sensitive: bool  # sgbv alert or one carrying sensitive reports
    previous_level: Level | None = None  # what this receiver was told before (None: new to them)


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """What one receiver is told now about one group of alerts."""

    kind: Literal["firing", "resolved", "escalation"]
    alerts: tuple[AlertLine, ...]  # at least one
    tier: int = 1  # escalation: the tier told now (2 = second tier)
    waited: timedelta | None = None  # escalation: how long the alert went unacknowledged


def _nairobi() -> tzinfo:
    try:
        return ZoneInfo("Africa/Nairobi")
    except ZoneInfoNotFoundError:  # no tz database on the host: Nairobi has no daylight saving, UTC+3 is exact
        return KENYA_TIME


_EAT = _nairobi()
_MONTHS: dict[Language, tuple[str, ...]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "sw": ("Jan", "Feb", "Mac", "Apr", "Mei", "Jun", "Jul", "Ago", "Sep", "Okt", "Nov", "Des"),
}
# Short words for an alert's group in an SMS's "also" list; the email says them in full, in the engine's own
# words (rules.escalation.GROUP_WORDS: notifiers may not import rules/, so a test keeps the two alike).
_GROUP_SHORT: dict[Language, dict[str, str]] = {
    "en": {"violence": "violence", "sgbv": "GBV", "tension": "tension", "communal": "communal clashes",
           "election": "election", "peace": "peace", "none": "reports", "all": "incidents"},
    "sw": {"violence": "vurugu", "sgbv": "dhuluma ya kijinsia", "tension": "vitisho", "communal": "mizozo",
           "election": "uchaguzi", "peace": "amani", "none": "ripoti", "all": "matukio"},
}
_GROUP_LONG: dict[Language, dict[str, str]] = {
    "en": {"violence": "violence", "sgbv": "sexual or gender-based violence", "tension": "threats or hate speech",
           "communal": "communal clashes", "election": "election incidents", "peace": "peace activities",
           "none": "reports", "all": "incidents"},
    "sw": {"violence": "vurugu", "sgbv": "dhuluma ya kingono au kijinsia", "tension": "vitisho au matamshi ya chuki",
           "communal": "mizozo ya kijamii", "election": "matukio ya uchaguzi", "peace": "shughuli za amani",
           "none": "ripoti", "all": "matukio"},
}
_W: dict[Language, dict[str, str]] = {
    "en": {
        "sensitive": "a sensitive report (details to cleared staff)",
        "sensitive_short": "sensitive",
        "raised": " (raised)", "lowered": " (lowered)",
        "county": "{county} county", "counties": "{n} counties", "alerts": "{n} alerts",
        "head": "EWS {level}{change}: {where}.",
        "top_many": "{county}: {why}.",
        "ref_since": "Alert {ref} since {when}.",
        "also": "Also {items}.", "more": "+{n} more",
        "ack": "Reply ACK {num} to acknowledge.",
        "esc_head": "EWS ESCALATION (tier {tier}):",
        "esc_one": "{ref} {level} {county} not acknowledged {waited}.",
        "esc_many": "{n} alerts not acknowledged {waited}.",
        "esc_top": "{ref} {level} {county}: {why}.",
        "open_since": "Open since {when}.",
        "waited": "for {span}", "in_time": "in time",
        "normal_one": "EWS: {where} back to {normal}.",
        "closed_one": "{refs} closed.", "closed_many": "{refs} closed.",
        "opened_one": "Opened {when}: {why}.", "opened_many": "{ref} opened {when}: {why}.",
        "min": "{m} min", "hours": "{h} h", "hours_min": "{h} h {m} min", "days": "{d} days",
    },
    "sw": {
        "sensitive": "ripoti nyeti (maelezo kwa walioidhinishwa)",
        "sensitive_short": "nyeti",
        "raised": " (imepanda)", "lowered": " (imeshuka)",
        "county": "Kaunti ya {county}", "counties": "kaunti {n}", "alerts": "tahadhari {n}",
        "head": "EWS {level}{change}: {where}.",
        "top_many": "{county}: {why}.",
        "ref_since": "Tahadhari {ref} tangu {when}.",
        "also": "Pia {items}.", "more": "+{n} zaidi",
        "ack": "Jibu NDIO {num} kuthibitisha.",
        "esc_head": "EWS KUPANDISHWA (ngazi {tier}):",
        "esc_one": "{ref} {level} {county} haijathibitishwa {waited}.",
        "esc_many": "tahadhari {n} hazijathibitishwa {waited}.",
        "esc_top": "{ref} {level} {county}: {why}.",
        "open_since": "Tangu {when}.",
        "waited": "kwa {span}", "in_time": "kwa wakati",
        "normal_one": "EWS: {where} imerudi {normal}.",
        "closed_one": "Tahadhari {refs} imefungwa.", "closed_many": "Tahadhari {refs} zimefungwa.",
        "opened_one": "Ilianza {when}: {why}.", "opened_many": "{ref} ilianza {when}: {why}.",
        "min": "dakika {m}", "hours": "saa {h}", "hours_min": "saa {h} dakika {m}", "days": "siku {d}",
    },
}
_NORMAL_MANY: dict[Language, str] = {"en": "EWS: {where} back to {normal}.", "sw": "EWS: {where} zimerudi {normal}."}

_WHY_MAX = 100  # the engine's longest why line is about 85 characters; anything longer is not the engine's
_COUNTY_MAX = 24  # Kenya's longest county name is 15 ("Elgeyo-Marakwet")
_GROUP_MAX = 20
_SHORTER = ((_WHY_MAX, _COUNTY_MAX), (60, _COUNTY_MAX), (40, 16), (24, 12), (12, 8), (6, 4), (1, 1))

# Characters outside GSM-7 with a harmless GSM-7 stand-in (NFKD folds accents and full-width forms besides).
_FOLD = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"',
                       "″": '"', "«": '"', "»": '"', "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-",
                       "―": "-", "−": "-", "…": "...", "•": "-", "·": "-", "×": "x", "`": "'", "´": "'"})
# Categories dropped from outside text: controls, format characters (bidi overrides, zero-width joiners),
# surrogates, private use, unassigned, symbols such as emoji, and combining marks left over.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "So", "Sk", "Mn", "Me"})


@lru_cache(maxsize=4096)
def _is_gsm(ch: str) -> bool:
    return sms_segments(ch)[1]


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One character as it goes into an SMS: itself when GSM-7, a GSM-7 stand-in, or dropped."""
    if _is_gsm(ch) and unicodedata.category(ch) != "Cc":
        return ch
    folded = ch.translate(_FOLD)
    if folded != ch:
        return folded
    if ch.isspace():
        return " "
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", ch) if unicodedata.category(c) not in _DROPPED)
    if decomposed and all(_is_gsm(c) for c in decomposed):
        return decomposed
    return "" if unicodedata.category(ch) in _DROPPED else ch  # a letter of another script stays (UCS-2)


def _sms_clean(text: str) -> str:
    """Outside text (a county name, a why line) made fit for an SMS: one line, GSM-7 where harmless."""
    return " ".join("".join(_fold_char(ch) for ch in text).split())


def _plain_clean(text: str) -> str:
    """Outside text made fit for an email line or subject: no control or format characters, one line."""
    kept = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(kept.split())


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(1, limit - 2)].rstrip() + ".."


def _sentence(why: str) -> str:
    """A why line as a sentence's start: first letter capital, no closing full stop (the template adds it)."""
    why = why.rstrip(" .")
    return why[:1].upper() + why[1:]


def _ordered(alerts: Sequence[AlertLine]) -> list[AlertLine]:
    """Most severe first: level descending, then the older (lower) alert id."""
    return sorted(alerts, key=lambda a: (-int(a.level), a.alert_id))


def _change(alert: AlertLine, language: Language) -> str:
    previous = alert.previous_level
    if previous is None or previous == alert.level:
        return ""
    return _W[language]["raised" if alert.level > previous else "lowered"]


def _when(moment: datetime, language: Language, *, full: bool = False) -> str:
    """"14:05 1 Dec" in East Africa Time (an email adds the year and "EAT"); a naive time is taken as UTC."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(_EAT)
    month = _MONTHS[language][local.month - 1]
    if full:
        return f"{local:%H:%M} EAT, {local.day} {month} {local.year}"
    return f"{local:%H:%M} {local.day} {month}"


def _span(waited: timedelta, language: Language) -> str:
    """How long an alert went unacknowledged: "15 min", "1 h 30 min", "3 days"."""
    words = _W[language]
    minutes = max(0, int(waited.total_seconds() // 60))
    hours, rest = divmod(minutes, 60)
    if hours >= 48:
        return words["days"].format(d=hours // 24)
    if hours:
        return words["hours_min"].format(h=hours, m=rest) if rest else words["hours"].format(h=hours)
    return words["min"].format(m=minutes)


def _shown_why(alert: AlertLine, language: Language, cleared: bool) -> str:
    """The alert's why line, or the sensitive placeholder for a receiver not cleared for it (raw text)."""
    if alert.sensitive and not cleared:
        return _W[language]["sensitive"]
    return alert.why_sw if language == "sw" else alert.why_en


def _group_word(alert: AlertLine, language: Language, cleared: bool, words: Mapping[Language, Mapping[str, str]],
                ) -> str:
    if alert.sensitive and not cleared:
        return _W[language]["sensitive_short"]
    return words[language].get(alert.group, alert.group)


def render_sms(message: GroupMessage, language: Language, *, cleared: bool) -> str:
    """The SMS telling one receiver about a group of alerts: at most two segments, GSM-7 where possible."""
    if not message.alerts:
        raise ValueError("a group message has at least one alert")
    alerts = _ordered(message.alerts)
    build = {"firing": _firing, "escalation": _escalation, "resolved": _resolved}[message.kind]
    others = len(alerts) - 1
    for step, (why_max, county_max) in enumerate(_SHORTER):
        # Room goes first to the top alert's why line, then to the others as a list; only once the list has
        # given way entirely do the why line and the county names shorten.
        for shown in range(others, -1, -1) if step == 0 else (0,):
            text = build(message, alerts, language, cleared, _Room(why_max, county_max, shown))
            if sms_segments(text)[0] <= 2:
                return text
    # Outside text in another script still too long: last, every non-GSM-7 character becomes "?".
    text = build(message, alerts, language, cleared, _Room(1, 1, 0))
    text = "".join(ch if _is_gsm(ch) else "?" for ch in text)
    if sms_segments(text)[0] <= 2:
        return text
    top = alerts[0]  # only absurd numbers get here (a tier of hundreds of digits): the bare minimum
    return f"EWS: {alert_reference(top.alert_id)}. " + (
        "" if message.kind == "resolved" else _W[language]["ack"].format(num=top.alert_id))


@dataclass(frozen=True, slots=True)
class _Room:
    why: int  # characters of the top alert's why line
    county: int  # characters of each county name
    shown: int  # other alerts listed by name (the rest are "+N more")


def _county(alert: AlertLine, room: _Room) -> str:
    return _cut(_sms_clean(alert.county_name), room.county) or "?"


def _why(alert: AlertLine, language: Language, cleared: bool, room: _Room) -> str:
    return _cut(_sms_clean(_shown_why(alert, language, cleared)), room.why) or "?"


def _others(alerts: Sequence[AlertLine], language: Language, cleared: bool, room: _Room, *, counties: bool) -> str:
    """"Also A-13 WATCH tension, A-14 WARNING Nakuru election (raised), +2 more." (empty for one alert)."""
    rest = alerts[1:]
    if not rest:
        return ""
    words = _W[language]
    items = []
    for alert in rest[:room.shown]:
        where = f" {_county(alert, room)}" if counties else ""
        group = _cut(_sms_clean(_group_word(alert, language, cleared, _GROUP_SHORT)), _GROUP_MAX) or "?"
        items.append(f"{alert_reference(alert.alert_id)} {_LEVEL_NAMES[language][alert.level]}{where} {group}"
                     f"{_change(alert, language)}")
    if len(rest) > room.shown:
        items.append(words["more"].format(n=len(rest) - room.shown))
    return " " + words["also"].format(items=", ".join(items))


def _where(alerts: Sequence[AlertLine], language: Language, room: _Room) -> tuple[str, bool]:
    """The headline's place ("Kisumu county", or "3 counties") and whether the counties differ."""
    words = _W[language]
    n = len({a.county_name for a in alerts})
    if n == 1:
        return words["county"].format(county=_county(alerts[0], room)), False
    return words["counties"].format(n=n), True


def _firing(message: GroupMessage, alerts: Sequence[AlertLine], language: Language, cleared: bool,
            room: _Room) -> str:
    words, top = _W[language], alerts[0]
    where, several = _where(alerts, language, room)
    if len(alerts) > 1:
        where += ", " + words["alerts"].format(n=len(alerts))
    text = words["head"].format(level=_LEVEL_NAMES[language][top.level], change=_change(top, language), where=where)
    why = _why(top, language, cleared, room)
    if several:
        county = words["county"].format(county=_county(top, room))
        text += " " + words["top_many"].format(county=county, why=why.rstrip(" ."))
    else:
        text += f" {_sentence(why)}."
    text += " " + words["ref_since"].format(ref=alert_reference(top.alert_id), when=_when(top.opened_at, language))
    text += _others(alerts, language, cleared, room, counties=several)
    return text + " " + words["ack"].format(num=top.alert_id)


def _escalation(message: GroupMessage, alerts: Sequence[AlertLine], language: Language, cleared: bool,
                room: _Room) -> str:
    words, top = _W[language], alerts[0]
    waited = words["waited"].format(span=_span(message.waited, language)) if message.waited is not None \
        else words["in_time"]
    several = len({a.county_name for a in alerts}) > 1
    county = words["county"].format(county=_county(top, room))
    ref, level = alert_reference(top.alert_id), _LEVEL_NAMES[language][top.level] + _change(top, language)
    text = words["esc_head"].format(tier=message.tier) + " "
    if len(alerts) == 1:
        text += words["esc_one"].format(ref=ref, level=level, county=county, waited=waited)
        text += f" {_sentence(_why(top, language, cleared, room))}."
    else:
        text += words["esc_many"].format(n=len(alerts), waited=waited)
        text += " " + words["esc_top"].format(ref=ref, level=level, county=county,
                                              why=_why(top, language, cleared, room).rstrip(" ."))
    text += " " + words["open_since"].format(when=_when(top.opened_at, language))
    text += _others(alerts, language, cleared, room, counties=several)
    return text + " " + words["ack"].format(num=top.alert_id)


def _resolved(message: GroupMessage, alerts: Sequence[AlertLine], language: Language, cleared: bool,
              room: _Room) -> str:
    words, top = _W[language], alerts[0]
    where, several = _where(alerts, language, room)
    normal = _LEVEL_NAMES[language][Level.NORMAL].lower()
    head = (_NORMAL_MANY[language] if several else words["normal_one"]).format(where=where, normal=normal)
    refs = [alert_reference(a.alert_id) + (f" {_county(a, room)}" if several else "") for a in alerts]
    listed = refs[:1 + room.shown]
    if len(refs) > len(listed):
        listed.append(words["more"].format(n=len(refs) - len(listed)))
    when, why = _when(top.opened_at, language), _why(top, language, cleared, room).rstrip(" .")
    if len(alerts) == 1:
        return f"{head} {words['closed_one'].format(refs=listed[0])} {words['opened_one'].format(when=when, why=why)}"
    opened = words["opened_many"].format(ref=alert_reference(top.alert_id), when=when, why=why)
    return f"{head} {words['closed_many'].format(refs=', '.join(listed))} {opened}"


_E: dict[Language, dict[str, str]] = {
    "en": {
        "firing": "EWS {level}{change}: {where}", "resolved": "EWS: {where} back to {normal}",
        "escalation": "EWS ESCALATION (tier {tier}): {level}, {where}",
        "open_one": "This alert is open:", "open_many": "These {n} alerts are open:",
        "closed_one": "This alert is closed:", "closed_many": "Every alert of this group is closed ({n}):",
        "esc_one": "{ref} has not been acknowledged {waited}, so it is escalated to you (tier {tier} of its "
                   "escalation policy):",
        "esc_many": "These {n} alerts have not been acknowledged {waited}, so they are escalated to you (tier {tier} "
                    "of their escalation policy):",
        "raised_from": " (raised from {level})", "lowered_from": " (lowered from {level})",
        "was": " (was {level})",
        "what": "What happened: {why}.", "since": "Open since {when}.", "opened": "Opened {when}.",
        "how": "How it was decided: {how}",
        "ack_one": "Reply ACK {num} by SMS to acknowledge {ref}.",
        "ack_many": "Reply ACK {num} by SMS to acknowledge {ref} (or ACK and the number of any alert above).",
        "no_reply": "No reply is needed.",
        "rule": "rule {rule}", "version": "version {version}", "detector": "detector {detector}",
        "statistic": "statistic {statistic}", "threshold": "against threshold {threshold}",
        "observed": "observed count {observed}",
        "baseline": "baseline mean {mean}, sd {sd} over {periods} periods", "no_baseline": "no baseline",
        "units": "contributing units ({n})", "units_listed": "contributing units ({n}): {refs}",
    },
    "sw": {
        "firing": "EWS {level}{change}: {where}", "resolved": "EWS: {where} imerudi {normal}",
        "escalation": "EWS KUPANDISHWA (ngazi {tier}): {level}, {where}",
        "open_one": "Tahadhari hii iko wazi:", "open_many": "Tahadhari hizi {n} ziko wazi:",
        "closed_one": "Tahadhari hii imefungwa:", "closed_many": "Tahadhari zote za kundi hili zimefungwa ({n}):",
        "esc_one": "{ref} haijathibitishwa {waited}, kwa hiyo imepandishwa kwako (ngazi {tier} ya mpango wake wa "
                   "kupandisha):",
        "esc_many": "Tahadhari hizi {n} hazijathibitishwa {waited}, kwa hiyo zimepandishwa kwako (ngazi {tier} ya "
                    "mpango wao wa kupandisha):",
        "raised_from": " (imepanda kutoka {level})", "lowered_from": " (imeshuka kutoka {level})",
        "was": " (ilikuwa {level})",
        "what": "Kilichotokea: {why}.", "since": "Tangu {when}.", "opened": "Ilianza {when}.",
        "how": "Jinsi ilivyoamuliwa: {how}",
        "ack_one": "Jibu NDIO {num} kwa SMS kuthibitisha {ref}.",
        "ack_many": "Jibu NDIO {num} kwa SMS kuthibitisha {ref} (au NDIO na nambari ya tahadhari yoyote hapo juu).",
        "no_reply": "Hakuna haja ya kujibu.",
        "rule": "kanuni {rule}", "version": "toleo {version}", "detector": "kigunduzi {detector}",
        "statistic": "takwimu {statistic}", "threshold": "dhidi ya kizingiti {threshold}",
        "observed": "idadi iliyoonekana {observed}",
        "baseline": "kawaida: wastani {mean}, mkengeuko sanifu {sd} katika vipindi {periods}",
        "no_baseline": "hakuna kipimo cha kawaida",
        "units": "vitengo vilivyochangia ({n})", "units_listed": "vitengo vilivyochangia ({n}): {refs}",
    },
}
_EMAIL_COUNTY_MAX = 60
_EMAIL_TEXT_MAX = 500  # of any one piece of outside text (a why line, a rule name) in an email
_SUBJECT_REFS = 5
_UNITS_LISTED = 10


def render_email(message: GroupMessage, language: Language, *, cleared: bool,
                 explanations: Mapping[int, Mapping[str, Any]] | None = None) -> tuple[str, str]:
    """(subject, plain-text body) telling one receiver about a group of alerts: every alert, in full sentences."""
    if not message.alerts:
        raise ValueError("a group message has at least one alert")
    alerts, words = _ordered(message.alerts), _E[language]
    top, many = alerts[0], len(alerts) > 1
    counties = {a.county_name for a in alerts}
    where = (_W[language]["county"].format(county=_email_county(top)) if len(counties) == 1
             else _W[language]["counties"].format(n=len(counties)))
    level = _LEVEL_NAMES[language][top.level]
    head = words[message.kind].format(level=level, change=_change(top, language), where=where, tier=message.tier,
                                      normal=_LEVEL_NAMES[language][Level.NORMAL].lower())
    refs = [alert_reference(a.alert_id) for a in alerts]
    shown_refs = ", ".join(refs[:_SUBJECT_REFS]) + (
        ", " + _W[language]["more"].format(n=len(refs) - _SUBJECT_REFS) if len(refs) > _SUBJECT_REFS else "")
    subject = f"{head} ({shown_refs})"
    if message.kind == "escalation":
        waited = _W[language]["waited"].format(span=_span(message.waited, language)) if message.waited is not None \
            else _W[language]["in_time"]
        intro = words["esc_many" if many else "esc_one"].format(ref=refs[0], n=len(alerts), waited=waited,
                                                               tier=message.tier)
    elif message.kind == "resolved":
        intro = words["closed_many" if many else "closed_one"].format(n=len(alerts))
    else:
        intro = words["open_many" if many else "open_one"].format(n=len(alerts))
    blocks = [f"{head}.", intro]
    for alert in alerts:
        explanation = (explanations or {}).get(alert.alert_id)
        blocks.append(_email_alert(alert, message.kind, language, cleared, explanation))
    if message.kind == "resolved":
        blocks.append(words["no_reply"])
    else:
        blocks.append(words["ack_many" if many else "ack_one"].format(num=top.alert_id, ref=refs[0]))
    # The email notifier adds the footer (the reference, who sent it): it is the same for every email.
    return subject, "\n\n".join(blocks) + "\n"


def _email_county(alert: AlertLine) -> str:
    return _cut(_plain_clean(alert.county_name), _EMAIL_COUNTY_MAX) or "?"


def _email_alert(alert: AlertLine, kind: str, language: Language, cleared: bool,
                 explanation: Mapping[str, Any] | None) -> str:
    """One alert's paragraph: reference, level, county, group; what happened; since when; how it was decided."""
    words, names = _E[language], _LEVEL_NAMES[language]
    hidden = alert.sensitive and not cleared
    previous = alert.previous_level
    if kind == "resolved":
        change = words["was"].format(level=names[previous]) if previous is not None and previous != alert.level \
            else ""
    elif previous is None or previous == alert.level:
        change = ""
    else:
        change = words["raised_from" if alert.level > previous else "lowered_from"].format(level=names[previous])
    county = _W[language]["county"].format(county=_email_county(alert))
    first = f"{alert_reference(alert.alert_id)}: {names[alert.level]}{change}, {county}"
    if not hidden:
        first += ", " + _cut(_plain_clean(_GROUP_LONG[language].get(alert.group, alert.group)), _EMAIL_TEXT_MAX)
    why = _cut(_plain_clean(_shown_why(alert, language, cleared)), _EMAIL_TEXT_MAX).rstrip(" .") or "?"
    since = words["opened" if kind == "resolved" else "since"].format(when=_when(alert.opened_at, language, full=True))
    lines = [f"{first}.", words["what"].format(why=why), since]
    how = None if hidden or not isinstance(explanation, Mapping) else _explain(explanation, language)
    if how:
        lines.append(words["how"].format(how=how))
    return "\n".join(lines)


def _explain(explanation: Mapping[str, Any], language: Language) -> str | None:
    """The engine's explanation in a sentence: rule, version, detector, statistic vs threshold, baseline, units.
    Any key may be missing or odd (an older engine, a hand-edited row): what is there is said."""
    words = _E[language]
    parts: list[str] = []
    if explanation.get("version") in (None, "") and explanation.get("rules_version") not in (None, ""):
        explanation = {**explanation, "version": explanation["rules_version"]}  # the evaluator's name for it
    rule = ", ".join(words[key].format(**{key: _text(explanation[key])})
                     for key in ("rule", "version", "detector") if explanation.get(key) not in (None, ""))
    if rule:
        parts.append(rule)
    figures = " ".join(words[key].format(**{key: _number(explanation[key])})
                       for key in ("statistic", "threshold") if explanation.get(key) is not None)
    if figures:
        parts.append(figures)
    if explanation.get("observed") is not None:
        parts.append(words["observed"].format(observed=_number(explanation["observed"])))
    if "baseline" in explanation:
        baseline = explanation["baseline"]
        if isinstance(baseline, Mapping):
            parts.append(words["baseline"].format(mean=_number(baseline.get("mean")), sd=_number(baseline.get("sd")),
                                                  periods=_number(baseline.get("periods"))))
        elif baseline is None:
            parts.append(words["no_baseline"])
    units = explanation.get("units", explanation.get("contributing"))
    if isinstance(units, Sequence) and not isinstance(units, str | bytes):
        count = explanation.get("contributing_count")
        n = count if isinstance(count, int) and not isinstance(count, bool) and count >= len(units) else len(units)
        refs = [_text(u.get("report") or u.get("unit")) if isinstance(u, Mapping) else _text(u)
                for u in units[:_UNITS_LISTED]]
        refs = [r for r in refs if r != "?"]
        if n:
            parts.append(words["units_listed"].format(n=n, refs=", ".join(refs)) if refs
                         else words["units"].format(n=n))
    if not parts:
        return None
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def _text(value: object) -> str:
    if value is None:
        return "?"
    return _cut(_plain_clean(str(value)), _EMAIL_TEXT_MAX) or "?"


def _number(value: object) -> str:
    """A figure as people read it: 12, 1.4, 0.33 ("?" when missing or not a number)."""
    if isinstance(value, bool) or value is None:
        return "?"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return "?"
        return f"{value:.2f}".rstrip("0").rstrip(".") or "0"
    return _text(value)
