"""Post a realistic, signed stream of SMS reports to a running service, so a newcomer sees it work."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import aiohttp
from twilio.request_validator import RequestValidator

TWILIO_SMS_PATH = "/ingest/twilio/sms"
TWILIO_WHATSAPP_PATH = "/ingest/twilio/whatsapp"
AT_SMS_PATH = "/ingest/africastalking/sms"
AT_USSD_PATH = "/ingest/africastalking/ussd"
USSD_CODE = "*384*1234#"

_ESCALATION_TEXTS = (
    "Youths with pangas gathering at {place} market in {county}",
    "Vijana wamebeba mapanga sokoni {place}, {county}. Tafadhali tuma polisi",
    "Stones being thrown near the tallying centre in {county}",
    "Watu wanapigana karibu na kituo cha kura {county}",
    "Shops burning on the main road at {place} {county}, people running",
    "Kaunti ya {county}: kundi kubwa la vijana wanatishia wapiga kura",
    "Leaflets telling one community to leave {place} by Friday, {county}",
    "Police firing teargas at {place}, {county}. Many injured",
)
# How it ends: killings, which the default rules raise to ALERT at once (a county with no history has no
# baseline yet for the statistical rules to rise against).
_KILLING_TEXTS = (
    "Two people killed with pangas at {place} market, {county}. Bodies still there",
    "Watu wawili wameuawa kwa mapanga {place}, {county}. Maiti bado ziko barabarani",
)
_NOISE_TEXTS = (
    "Rally in {county} today was peaceful",
    "Mkutano wa amani umefanyika {county} leo",
    "Heated argument between supporters in {county} but no violence",
    "Posters torn down overnight in {county}",
)
_NOISE_COUNTIES = ("Nairobi", "Mombasa", "Nakuru", "Uasin Gishu", "Kakamega", "Machakos", "Nyeri", "Garissa")
_PLACES = ("Kondele", "Nyalenda", "Manyatta", "Obunga", "Kibuye")


@dataclass(frozen=True, slots=True)
class Planned:
    """One SMS to send after `delay` seconds from the start."""

    delay: float
    county: str
    body: str


def plan_escalation(duration: float, *, county: str = "Kisumu", seed: int = 7) -> list[Planned]:
    """Reports that build up in one county over `duration` seconds and end in killings, with quiet noise
    elsewhere."""
    rng = random.Random(seed)
    plan: list[Planned] = []
    # The gap between reports shrinks as tension builds: 14 reports, denser towards the end.
    weights = [1.0 / (1 + i) for i in range(14)]
    scale = duration * 0.9 / sum(weights)
    at = 0.0
    for weight in weights:
        at += weight * scale
        text = rng.choice(_ESCALATION_TEXTS).format(place=rng.choice(_PLACES), county=county)
        plan.append(Planned(at, county, text))
    for share, template in zip((0.92, 0.96), _KILLING_TEXTS, strict=True):
        plan.append(Planned(duration * share, county, template.format(place=rng.choice(_PLACES), county=county)))
    for i, noise_county in enumerate(_NOISE_COUNTIES):
        text = _NOISE_TEXTS[i % len(_NOISE_TEXTS)].format(county=noise_county)
        plan.append(Planned(rng.uniform(0, duration), noise_county, text))
    return sorted(plan, key=lambda p: p.delay)


SCENARIOS: dict[str, Callable[[float], list[Planned]]] = {
    "escalation": plan_escalation,
    "nakuru": lambda duration: plan_escalation(duration, county="Nakuru", seed=11),
}


def twilio_form(body: str, *, sender: str, to: str = "+15005550006") -> dict[str, str]:
    """The form fields Twilio posts for an inbound SMS."""
    sid = "SM" + uuid.uuid4().hex
    return {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": "AC" + "0" * 32,
            "From": sender, "To": to, "Body": body, "NumMedia": "0", "NumSegments": "1",
            "SmsStatus": "received", "ApiVersion": "2010-04-01", "FromCountry": "KE"}


def whatsapp_form(body: str, *, sender: str, to: str = "+14155238886", point: tuple[float, float] | None = None,
                  label: str = "", media: Sequence[str] = ()) -> dict[str, str]:
    """The form fields Twilio posts for an inbound WhatsApp message: text, a shared location, media."""
    sid = ("MM" if media else "SM") + uuid.uuid4().hex
    form = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": "AC" + "0" * 32,
            "From": "whatsapp:" + sender, "To": "whatsapp:" + to, "Body": body, "NumMedia": str(len(media)),
            "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01", "ProfileName": "Reporter",
            "WaId": sender.lstrip("+"), "MessageType": "location" if point else ("image" if media else "text")}
    for i, content_type in enumerate(media):
        form[f"MediaContentType{i}"] = content_type
        form[f"MediaUrl{i}"] = f"https://api.twilio.com/2010-04-01/Accounts/{form['AccountSid']}/Messages/{sid}/Media/ME{i}"
    if point is not None:
        form.update(Latitude=f"{point[0]:.6f}", Longitude=f"{point[1]:.6f}")
        if label:
            form["Label"] = label
    return form


def county_point(county: str) -> tuple[float, float]:
    """A point in the county (its first constituency's), as a reporter's shared location would be."""
    from rules.gazetteer import county_by_name
    from rules.gazetteer.data import admin_units

    found = county_by_name(county)
    assert found is not None, county
    unit = next(u for u in admin_units().constituencies.values() if u.county_code == found.code)
    return unit.lat, unit.lon


def whatsapp_message(planned: Planned, sender: str, index: int) -> dict[str, str]:
    """Every third message a shared location with no text, every fourth a photo with the text as caption."""
    if index % 3 == 2:
        return whatsapp_form("", sender=sender, point=county_point(planned.county), label=f"{planned.county} market")
    return whatsapp_form(planned.body, sender=sender, media=("image/jpeg",) if index % 4 == 3 else ())


def at_form(body: str, *, sender: str, to: str = "40123") -> dict[str, str]:
    """The form fields Africa's Talking posts for an inbound SMS to a shortcode."""
    return {"from": sender, "to": to, "text": body, "date": "2026-12-01 10:00:00", "id": str(uuid.uuid4()),
            "linkId": "", "networkCode": "63902"}


def sign(auth_token: str | None, url: str, form: dict[str, str]) -> dict[str, str]:
    """Headers for the form, with X-Twilio-Signature when a token is given."""
    if not auth_token:
        return {}
    return {"X-Twilio-Signature": RequestValidator(auth_token).compute_signature(url, form)}


async def run(url: str, *, scenario: str, duration: float, auth_token: str | None, public_url: str | None,
              api_token: str | None = None, out: Callable[[str], None] = print, channel: str = "twilio",
              at_token: str | None = None) -> dict[str, Any]:
    """Play a scenario against `url`; return the counties and alerts the service reports at the end."""
    plan = SCENARIOS[scenario](duration)
    base = url.rstrip("/")
    signed_url = (public_url or url).rstrip("/") + TWILIO_SMS_PATH
    rng = random.Random(3)
    senders = [f"+2547{rng.randrange(10**8):08d}" for _ in range(40)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    api_headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
    async with aiohttp.ClientSession() as session:
        for index, planned in enumerate(plan):
            await asyncio.sleep(max(0.0, started + planned.delay - loop.time()))
            if channel == "ussd":
                status = await ussd_session(session, base + AT_USSD_PATH, at_token or "", planned,
                                            sender=rng.choice(senders), swahili=rng.random() < 0.5)
                out(f"{loop.time() - started:6.1f}s  {planned.county:<12} {status}")
                continue
            if channel == "whatsapp":
                form = whatsapp_message(planned, rng.choice(senders), index)
                headers = sign(auth_token, (public_url or url).rstrip("/") + TWILIO_WHATSAPP_PATH, form)
                post = session.post(base + TWILIO_WHATSAPP_PATH, data=form, headers=headers)
            elif channel == "africastalking":
                form = at_form(planned.body, sender=rng.choice(senders))
                post = session.post(base + AT_SMS_PATH, data=form, params={"token": at_token or ""})
            else:
                form = twilio_form(planned.body, sender=rng.choice(senders))
                post = session.post(base + TWILIO_SMS_PATH, data=form, headers=sign(auth_token, signed_url, form))
            async with post as response:
                reply = await response.text()
            status = "ok" if response.status == 200 else f"HTTP {response.status}: {reply[:120]}"
            out(f"{loop.time() - started:6.1f}s  {planned.county:<12} {status}")
        await asyncio.sleep(1.0)  # let the engine and dispatcher finish
        counties = await _get(session, base + "/api/v1/counties", api_headers)
        alerts = await _get(session, base + "/api/v1/alerts?status=all", api_headers)
        deliveries = await _get(session, base + "/api/v1/deliveries?status=all&limit=500", api_headers)
        escalations = []
        for alert in alerts.get("alerts", [])[:10]:
            if alert.get("closed_at") is None:
                detail = await _get(session, f"{base}/api/v1/alerts/{alert['id']}", api_headers)
                if detail.get("escalation"):
                    escalations.append((alert["reference"], detail["escalation"]))
    raised = [c for c in counties.get("counties", []) if c["level"] != "NORMAL"]
    out("counties above NORMAL: " + (", ".join(f"{c['name']}={c['level']}" for c in raised) or "none"))
    for alert in alerts.get("alerts", [])[:10]:
        out(f"alert {alert['reference']}: {alert['county_name']} {alert['level']} "
            f"(rule {alert['rule']} counted {alert['trigger_count']}, {alert['messages_sent']} SMS sent)")
    for escalation_of_alert in escalations:
        out(escalation_line(*escalation_of_alert))
    receipts = [d for d in deliveries.get("deliveries", []) if d["kind"] == "receipt"]
    if receipts:  # AT's receipts go through the outbox (Twilio's ride in its TwiML answer)
        sent = sum(1 for d in receipts if d["status"] == "sent")
        out(f"receipts through the outbox: {sent} sent of {len(receipts)} via {receipts[0]['notifier']}")
    return {"counties": counties, "alerts": alerts, "deliveries": deliveries}


def escalation_line(reference: str, escalation: dict[str, Any]) -> str:
    """Where an alert's escalation stands, and how to stop it, in one line."""
    where = f"{reference}: escalation {escalation['policy']} tier {escalation['tier']} of {escalation['tiers']}"
    if escalation.get("stopped_at"):
        return f"{where}: stopped ({escalation['stop_reason']})"
    receivers = ", ".join(escalation.get("receivers") or ())
    return (f"{where} ({receivers}) told at {escalation['told_at']}; nobody acknowledged yet, the next tier at "
            f"{escalation['next_at']}. Stop it: ews simulate --ack {reference} --from <a responder's phone>")


async def acknowledge(url: str, reference: str, *, sender: str, auth_token: str | None, public_url: str | None,
                      api_token: str | None = None, out: Callable[[str], None] = print,
                      wait: float = 10.0) -> dict[str, Any]:
    """Reply `ACK N` by SMS from a responder's phone, as they would from a feature phone; print the service's
    answer and, once its planner has seen it, the alert's escalation. The alert's detail."""
    number = reference.upper().removeprefix("A-")
    base = url.rstrip("/")
    form = twilio_form(f"ACK {number}", sender=sender)
    headers = sign(auth_token, (public_url or url).rstrip("/") + TWILIO_SMS_PATH, form)
    api_headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        async with session.post(base + TWILIO_SMS_PATH, data=form, headers=headers) as response:
            answer = await response.text()
        if response.status != 200:
            out(f"HTTP {response.status}: {answer[:200]}")
            return {}
        replies = [m.text or "" for m in ElementTree.fromstring(answer).iter("Message")]  # noqa: S314 - ours
        out("reply: " + (" / ".join(replies) or "(none)"))
        deadline = loop.time() + wait
        detail: dict[str, Any] = {}
        while loop.time() < deadline:
            detail = await _get(session, f"{base}/api/v1/alerts/{number}", api_headers)
            escalation = detail.get("escalation")
            if not escalation or escalation.get("stopped_at") or not detail.get("acknowledged_at"):
                break
            await asyncio.sleep(0.5)
        if detail.get("escalation"):
            out(escalation_line(detail.get("reference", reference), detail["escalation"]))
    return detail


async def ussd_session(session: aiohttp.ClientSession, url: str, token: str, planned: Planned, *, sender: str,
                       swahili: bool) -> str:
    """Walk one USSD session as a reporter would (language, county by name, a type, hurt, text, send); the
    last screen, or the HTTP error."""
    # What happened, by the menu's fixed type numbers: an armed gang or threats, by the text's words.
    kind = "3" if any(w in planned.body.lower() for w in ("panga", "burning", "firing", "stones")) else "6"
    text = planned.body.replace("*", " ")[:150]
    answers = ["1" if swahili else "2", planned.county, kind, "5", text, "1"]
    session_id = "ATUid_" + uuid.uuid4().hex
    last = ""
    i = 0
    while i <= len(answers):
        form = {"sessionId": session_id, "serviceCode": USSD_CODE, "phoneNumber": sender, "networkCode": "63902",
                "text": "*".join(answers[:i])}
        async with session.post(url, data=form, params={"token": token}) as response:
            last = await response.text()
            if response.status != 200:
                return f"HTTP {response.status}: {last[:120]}"
        # A constituency screen (where the menu offers one) is skipped with 98.
        if last.startswith("CON ") and ("Eneo bunge" in last or "Constituency" in last) and i < len(answers):
            answers.insert(i, "98")
        i += 1
    return last.replace("\n", " / ")[:100]


async def _get(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> dict[str, Any]:
    async with session.get(url, headers=headers) as response:
        if response.status != 200:
            return {}
        data: dict[str, Any] = await response.json()
        return data


def scenario_names() -> Sequence[str]:
    """The scenarios `ews simulate` can play."""
    return sorted(SCENARIOS)
