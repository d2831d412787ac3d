"""Twilio WhatsApp over the real app and PostgreSQL: receipts, media, locations, one sender across channels."""

from __future__ import annotations

import asyncio
import json
import secrets

import asyncpg
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from ews.cli.simulate import sign, whatsapp_form
from ews.core.settings import Settings
from rules.points import county_at
from tests.conftest import PUBLIC_URL, REPORTER_PHONES, TWILIO_TOKEN, quiet_client
from tests.helpers import SMS_PATH, count_rows, placed, post_signed, sms_form
from tests.test_cli import EWS, ROOT
from tests.test_twilio_webhook import reply_text
from tests.test_ussd_channel import CODE, walk

WHATSAPP_PATH = "/ingest/twilio/whatsapp"
PHONE = REPORTER_PHONES[0]
KISUMU_TOWN = (-0.0917, 34.768)
MEDIA_URL = "https://api.twilio.com/2010-04-01/Accounts/AC00/Messages/MM00/Media/ME0"


async def post_whatsapp(client: TestClient, form: dict[str, str], *, path: str = WHATSAPP_PATH,
                        signed_over: str | None = None) -> ClientResponse:
    """POST the form signed, as Twilio does, over the public URL of the path it calls."""
    headers = sign(TWILIO_TOKEN, PUBLIC_URL + (signed_over or path), form)
    return await client.post(path, data=form, headers=headers)


def messages(twiml: str) -> int:
    return twiml.count("<Message>")


async def test_a_whatsapp_report_is_stored_and_answered_in_the_twiml_in_its_language(
        client: TestClient, pool: asyncpg.Pool) -> None:
    response = await post_whatsapp(client, whatsapp_form("Vijana wamebeba mapanga sokoni Kondele, Kisumu",
                                                         sender=PHONE))
    assert response.status == 200 and response.content_type == "application/xml"
    text = reply_text(await response.text())
    await placed(pool)
    row = await pool.fetchrow("SELECT id, channel, source, county_code, media_count FROM reports")
    assert text.startswith("Asante") and f"EWS-{row['id']}" in text
    assert (row["channel"], row["source"], row["county_code"], row["media_count"]) == (
        "twilio_whatsapp", "twilio_whatsapp", 42, 0)
    english = await post_whatsapp(client, whatsapp_form("Stones thrown at the tallying centre in Nakuru",
                                                        sender=REPORTER_PHONES[1]))
    assert reply_text(await english.text()).startswith("Thank you")


async def test_a_whatsapp_message_to_the_sms_url_is_a_whatsapp_report(client: TestClient,
                                                                      pool: asyncpg.Pool) -> None:
    # A Messaging Service with an SMS number and a WhatsApp sender posts both to its one URL.
    response = await post_whatsapp(client, whatsapp_form("Fujo Kisumu", sender=PHONE), path=SMS_PATH)
    assert response.status == 200
    assert await pool.fetchval("SELECT channel FROM reports") == "twilio_whatsapp"


async def test_a_signature_over_the_other_twilio_url_is_refused(client: TestClient, pool: asyncpg.Pool) -> None:
    form = whatsapp_form("Fake alarm in Kisumu", sender=PHONE)
    response = await post_whatsapp(client, form, signed_over=SMS_PATH)
    assert response.status == 403
    assert await count_rows(pool, "reports") == 0


async def test_a_shared_location_alone_places_the_report_in_kisumu(client: TestClient, pool: asyncpg.Pool) -> None:
    assert county_at(*KISUMU_TOWN).code == 42  # type: ignore[union-attr]  # the seam the report is placed by
    form = whatsapp_form("", sender=PHONE, point=KISUMU_TOWN, label="Kisumu Bus Park")
    response = await post_whatsapp(client, form)
    assert response.status == 200 and "EWS-" in reply_text(await response.text())
    row = await pool.fetchrow("SELECT body, county_code, place_source, place_confidence, latitude, longitude "
                              "FROM reports")
    assert (row["body"], row["county_code"], row["place_source"]) == ("Kisumu Bus Park", 42, "channel")
    assert (row["latitude"], row["longitude"]) == (-0.092, 34.768)


async def test_the_location_outranks_a_place_in_the_text_and_the_text_places_it_without_one(
        client: TestClient, pool: asyncpg.Pool) -> None:
    # Shared from Kisumu while writing about Nakuru: the reporter's point is where they say it is.
    with_point = whatsapp_form("Youths gathering with pangas in Nakuru town", sender=PHONE, point=KISUMU_TOWN)
    without = whatsapp_form("Youths gathering with pangas in Nakuru town", sender=REPORTER_PHONES[1])
    abroad = whatsapp_form("Youths gathering with pangas in Nakuru town", sender=REPORTER_PHONES[2],
                           point=(51.5007, -0.1246))
    for form in (with_point, without, abroad):
        assert (await post_whatsapp(client, form)).status == 200
    await placed(pool)
    rows = await pool.fetch("SELECT county_code, place_source FROM reports ORDER BY id")
    assert [tuple(r) for r in rows] == [(42, "channel"), (32, "text"), (32, "text")]


async def test_media_are_stored_as_a_count_and_types_and_shown_never_their_urls(
        client: TestClient, pool: asyncpg.Pool) -> None:
    form = whatsapp_form("Hii ni picha ya nyumba zinazoungua Kondele", sender=PHONE,
                         media=("image/jpeg", "audio/ogg"))
    form.update(MediaUrl0=MEDIA_URL, MediaUrl1=MEDIA_URL + "1", ProfileName="Achieng Otieno", Forwarded="true")
    assert (await post_whatsapp(client, form)).status == 200
    photo_only = whatsapp_form("", sender=REPORTER_PHONES[1], media=("image/png",))
    assert (await post_whatsapp(client, photo_only)).status == 200
    await placed(pool)  # shown (to an uncleared caller) once its text is read
    report_id = await pool.fetchval("SELECT min(id) FROM reports")
    shown = await (await client.get(f"/api/v1/reports/{report_id}")).json()
    assert shown["media"] == {"count": 2, "content_types": ["image/jpeg", "audio/ogg"]}
    assert shown["forwarded"] == "forwarded" and shown["channel"] == "twilio_whatsapp"
    second = await (await client.get(f"/api/v1/reports/{report_id + 1}")).json()
    assert second["media"] == {"count": 1, "content_types": ["image/png"]} and second["body"] == ""
    everything = json.dumps([dict(r) for r in await pool.fetch("SELECT * FROM reports")], default=str)
    for secret in ("twilio.com/2010-04-01", "ME0", "Achieng", PHONE[1:]):  # the URLs, ProfileName, WaId
        assert secret not in everything, secret


HOSTILE = [
    ("no From", {"From": None}, 400),
    ("From with no number", {"From": "whatsapp:"}, 400),
    ("Latitude abc", {"Latitude": "abc", "Longitude": "34.768"}, 400),
    ("Latitude 200", {"Latitude": "200", "Longitude": "34.768"}, 400),
    ("Latitude NaN", {"Latitude": "NaN", "Longitude": "34.768"}, 400),
    ("Latitude without Longitude", {"Latitude": "-0.0917"}, 400),
    ("NumMedia not a number", {"NumMedia": "many"}, 400),
    ("NumMedia huge", {"NumMedia": "9" * 40}, 400),
    ("MediaContentType of 10 kB", {"NumMedia": "1", "MediaContentType0": "image/" + "x" * 10_000}, 400),
    ("nothing at all", {"Body": ""}, 400),
]


@pytest.mark.parametrize(("name", "change", "status"), HOSTILE, ids=[c[0] for c in HOSTILE])
async def test_hostile_fields_get_a_4xx_and_store_nothing(client: TestClient, pool: asyncpg.Pool, name: str,
                                                          change: dict[str, str | None], status: int) -> None:
    form = whatsapp_form("Fujo Kisumu", sender=PHONE)
    for key, value in change.items():
        if value is None:
            form.pop(key)
        else:
            form[key] = value
    response = await post_whatsapp(client, form)  # signed: it gets past the signature to the parser
    assert response.status == status, name
    assert "error" in await response.json()
    assert await count_rows(pool, "reports") == 0


@pytest.mark.parametrize(("raw", "status"), [
    (b"MessageSid=SM1&From=whatsapp%3A%2B254712345678&Body=%FF%FEbad", 400),
    (b"MessageSid=SM1&From=whatsapp%3A%2B254712345678&Body=" + b"A" * (10 * 1024 * 1024), 413),
], ids=["invalid-utf8", "10-MB-body"])
async def test_odd_bodies_get_a_4xx_never_a_500(client: TestClient, pool: asyncpg.Pool, raw: bytes,
                                                status: int) -> None:
    response = await client.post(WHATSAPP_PATH, data=raw, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    assert response.status == status
    assert await count_rows(pool, "reports") == 0


async def test_forged_or_missing_signatures_are_refused(client: TestClient, pool: asyncpg.Pool) -> None:
    form = whatsapp_form("Fake alarm in Kisumu", sender=PHONE)
    assert (await client.post(WHATSAPP_PATH, data=form)).status == 403
    forged = await client.post(WHATSAPP_PATH, data=form, headers={"X-Twilio-Signature": "AAAAforged="})
    assert forged.status == 403
    assert await count_rows(pool, "reports") == 0


@pytest.fixture
async def all_channels(pool: asyncpg.Pool, at_settings: Settings) -> TestClient:
    """Twilio SMS and WhatsApp, AT SMS and USSD, with a flood limit of three reports in ten minutes."""
    async with quiet_client(at_settings.replace(at_ussd_codes=CODE, flood_max_reports=3)) as client:
        yield client


async def test_one_phone_is_one_sender_across_sms_whatsapp_and_ussd_and_floods_as_one(
        all_channels: TestClient, pool: asyncpg.Pool) -> None:
    sms = await post_signed(all_channels, sms_form("Fujo Kondele Kisumu", sender=PHONE, sid="SM" + "1" * 32))
    whatsapp = await post_whatsapp(all_channels, whatsapp_form("Watu wanapigana Nyalenda Kisumu", sender=PHONE))
    screens = await walk(all_channels, ["1", "42", "98", "3", "1", "1", "1"], session=secrets.token_hex(6),
                         phone=PHONE)
    assert messages(await sms.text()) == messages(await whatsapp.text()) == 1 and screens[-1].startswith("END ")
    rows = await pool.fetch("SELECT channel, sender_hash, flooding FROM reports ORDER BY id")
    assert [r["channel"] for r in rows] == ["twilio_sms", "twilio_whatsapp", "at_ussd"]
    assert len({r["sender_hash"] for r in rows}) == 1
    assert not any(r["flooding"] for r in rows)
    # The fourth report in ten minutes, whichever channel it comes by, is over the limit of three.
    fourth = await post_whatsapp(all_channels, whatsapp_form("Nyumba zinaungua Manyatta Kisumu", sender=PHONE))
    assert fourth.status == 200 and messages(await fourth.text()) == 0, "a flooding sender gets no receipt"
    assert await pool.fetchval("SELECT flooding FROM reports WHERE channel = 'twilio_whatsapp' "
                               "ORDER BY id DESC LIMIT 1") is True


async def test_stop_over_whatsapp_stops_sms_receipts_to_that_phone_and_a_repeat_counts_once(
        client: TestClient, pool: asyncpg.Pool) -> None:
    first = await post_signed(client, sms_form("Vijana wanapigana sokoni Kondele Kisumu", sender=PHONE))
    assert messages(await first.text()) == 1
    again = await post_whatsapp(client, whatsapp_form("vijana wanapigana sokoni Kondele, Kisumu!", sender=PHONE))
    assert messages(await again.text()) == 1
    assert await pool.fetchval("SELECT repeat_of IS NOT NULL FROM reports WHERE channel = 'twilio_whatsapp'")
    stop = await post_whatsapp(client, whatsapp_form("ACHA", sender=PHONE))
    assert reply_text(await stop.text()).startswith("EWS: hutapata")
    assert await pool.fetchval("SELECT channel FROM inbound_commands") == "twilio_whatsapp"
    later = await post_signed(client, sms_form("Polisi wamefika Kondele", sender=PHONE))
    assert later.status == 200 and messages(await later.text()) == 0


async def test_a_burst_of_photos_without_captions_counts_once(client: TestClient, pool: asyncpg.Pool) -> None:
    # WhatsApp sends each photo of a burst as its own message: one sender's uncaptioned photos within the
    # repeat window are one report, as a repeated text is (the first counts, the others are repeats).
    for _ in range(3):
        response = await post_whatsapp(client, whatsapp_form("", sender=PHONE, media=("image/jpeg",)))
        assert response.status == 200
    rows = await pool.fetch("SELECT repeat_of FROM reports ORDER BY id")
    assert [r["repeat_of"] for r in rows] == [None, 1, 1]


async def test_simulate_over_whatsapp_raises_kisumu_with_locations_and_photos(client: TestClient,
                                                                              pool: asyncpg.Pool) -> None:
    url = str(client.make_url("")).rstrip("/")
    process = await asyncio.create_subprocess_exec(
        *EWS, "simulate", "--channel", "whatsapp", "--url", url, "--minutes", "0.1", "--auth-token", TWILIO_TOKEN,
        "--public-url", PUBLIC_URL, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    output = stdout.decode()
    assert "HTTP" not in output and "Kisumu=ALERT" in output, output
    rows = await pool.fetch("SELECT channel, county_code, place_source, latitude, media_count FROM reports")
    assert len(rows) == 24 and {r["channel"] for r in rows} == {"twilio_whatsapp"}
    pins = [r for r in rows if r["latitude"] is not None]
    assert pins and all(r["place_source"] == "channel" for r in pins)
    assert any(r["media_count"] == 1 for r in rows)


async def test_a_registered_monitor_on_whatsapp_is_the_same_monitor(client: TestClient, pool: asyncpg.Pool) -> None:
    from ews.core.privacy import ContactCipher
    from ews.db.repo.monitors import import_monitors
    from ews.intake.monitors import parse_monitors
    from tests.conftest import CONTACT_KEY, SENDER_KEY
    from tests.test_africastalking import MONITORS

    await import_monitors(pool, parse_monitors(MONITORS, fmt="csv"), hash_key=SENDER_KEY,
                          cipher=ContactCipher(CONTACT_KEY))
    monitor = REPORTER_PHONES[5]  # registered by phone number; writes on WhatsApp
    assert (await post_whatsapp(client, whatsapp_form("Hali ni tulivu leo sokoni", sender=monitor))).status == 200
    row = await pool.fetchrow("SELECT county_code, ward_code, trust, monitor_id FROM reports")
    assert (row["county_code"], row["ward_code"], row["trust"]) == (42, "0217", 1.0) and row["monitor_id"]
    helped = await post_whatsapp(client, whatsapp_form("MSAADA", sender=monitor))
    assert messages(await helped.text()) == 2  # the monitor's format and the type numbers, as on SMS
