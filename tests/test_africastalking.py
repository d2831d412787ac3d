"""Africa's Talking end to end: SMS in, stored once, receipt out through the loopback AT API, delivery reports."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ews.core.clock import utcnow
from ews.core.privacy import ContactCipher
from ews.core.settings import Settings
from ews.db.repo.monitors import import_monitors
from ews.db.repo.outbox import purge_reporter_contacts
from ews.intake.monitors import parse_monitors
from ews.web.app import create_app
from ews.web.appkeys import DISPATCHER, EVALUATOR
from tests.conftest import AT_TOKEN, AT_USERNAME, CONTACT_KEY, REPORTER_PHONES, SENDER_KEY, quiet_client
from tests.helpers import count_rows, eventually, placed, send_report
from tests.loopback import FakeAfricasTalkingApi

SMS = "/ingest/africastalking/sms"
DELIVERY = "/ingest/africastalking/delivery"
OPT_OUT = "/ingest/africastalking/optout"
SHORTCODE = "40123"


def at_form(text: str, *, sender: str = REPORTER_PHONES[0], message_id: str | None = None,
            link_id: str | None = None) -> dict[str, str]:
    """The form AT posts for an inbound SMS."""
    form = {"from": sender, "to": SHORTCODE, "text": text, "date": "2026-12-01 10:15:00",
            "id": message_id or str(uuid.uuid4()), "networkCode": "63902"}
    if link_id:
        form["linkId"] = link_id
    return form


async def post_at(client: TestClient, path: str, form: dict[str, str], *, token: str | None = AT_TOKEN) -> int:
    """POST a form to an AT callback with the token; the status."""
    url = path if token is None else f"{path}?token={token}"
    response = await client.post(url, data=form)
    await response.read()
    return response.status


async def delivery_status(pool: asyncpg.Pool) -> list[tuple[str, str | None]]:
    """(status, provider_status) of every delivery, oldest first."""
    return [(r["status"], r["provider_status"])
            for r in await pool.fetch("SELECT status, provider_status FROM deliveries ORDER BY id")]


async def settled(pool: asyncpg.Pool) -> bool:
    """Every outbox row expanded and no delivery waiting to be sent now."""
    unexpanded = await pool.fetchval("SELECT count(*) FROM outbox WHERE expanded_at IS NULL")
    due = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sending' OR "
                              "(status = 'pending' AND next_attempt_at <= now())")
    return bool(unexpanded == 0 and due == 0)


async def test_at_sms_is_stored_once_receipt_goes_out_and_delivery_reports_move_it_forward(
        at_client: TestClient, pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi) -> None:
    form = at_form("Watu wanapigana sokoni Kondele, Kisumu", link_id="SampleLinkId123")
    assert await post_at(at_client, SMS, form) == 200
    assert await post_at(at_client, SMS, form) == 200  # AT retries: the same id stores nothing new
    await placed(pool)
    row = await pool.fetchrow("SELECT id, channel, county_code, language FROM reports")
    assert await count_rows(pool, "reports") == 1
    assert (row["channel"], row["county_code"], row["language"]) == ("at_sms", 42, "sw")

    sent = await fake_at.wait_for(1)
    assert sent[0]["to"] == REPORTER_PHONES[0] and sent[0]["username"] == AT_USERNAME
    assert sent[0]["message"] == f"Asante. Ripoti yako imepokelewa. Kumbukumbu EWS-{row['id']}. " \
                                 "Ukiwa hatarini piga 999 au 112."
    assert "Kondele" not in sent[0]["message"]  # a receipt never repeats the report
    assert sent[0]["linkId"] == "SampleLinkId123" and sent[0]["bulkSMSMode"] == "0"
    await eventually(lambda: _status_is(pool, ("sent", None)))
    assert await count_rows(pool, "outbox") == 1  # the retry queued no second receipt
    message_id = sent[0]["messageId"]

    for status, expected in (("Submitted", "Submitted"), ("Success", "Success"), ("Sent", "Success"),
                             ("Buffered", "Success"), ("Failed", "Success")):
        assert await post_at(at_client, DELIVERY, {"id": message_id, "status": status,
                                                   "phoneNumber": REPORTER_PHONES[0], "networkCode": "63902"}) == 200
        assert await delivery_status(pool) == [("sent", expected)], status  # forward only, never back
    # A report for a message we never sent moves nothing and is still answered 200 (AT would retry).
    assert await post_at(at_client, DELIVERY, {"id": "ATXid_unknown", "status": "Success"}) == 200


async def _status_is(pool: asyncpg.Pool, *expected: tuple[str, str | None]) -> bool:
    return await delivery_status(pool) == list(expected)


@pytest.mark.parametrize("path", [SMS, DELIVERY, OPT_OUT])
@pytest.mark.parametrize("token", [None, "", "wrong-token", AT_TOKEN.upper(), AT_TOKEN + "x", "é"])
async def test_a_missing_or_wrong_token_is_refused_and_stores_nothing(
        at_client: TestClient, pool: asyncpg.Pool, path: str, token: str | None) -> None:
    form = {**at_form("Fake alarm in Kisumu"), "status": "Success", "phoneNumber": REPORTER_PHONES[1]}
    assert await post_at(at_client, path, form, token=token) == 403
    assert await count_rows(pool, "reports") == 0 and await count_rows(pool, "opt_outs") == 0


async def test_the_token_given_twice_is_refused(at_client: TestClient, pool: asyncpg.Pool) -> None:
    response = await at_client.post(f"{SMS}?token={AT_TOKEN}&token=other", data=at_form("Kisumu"))
    assert response.status == 403 and await count_rows(pool, "reports") == 0


async def test_without_a_callback_token_the_at_routes_are_not_mounted_and_start_up_says_so(
        pool: asyncpg.Pool, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        app = create_app(settings)
    assert "channel at_sms is not mounted" in caplog.text
    async with TestClient(TestServer(app)) as client:
        response = await client.post(SMS, data=at_form("Kisumu"))
        assert response.status == 404


HOSTILE = [
    ("missing from", {"to": SHORTCODE, "text": "Kisumu", "id": "m1"}, 400, "from"),
    ("missing text", {"from": REPORTER_PHONES[0], "to": SHORTCODE, "id": "m2"}, 400, "text"),
    ("empty text", {"from": REPORTER_PHONES[0], "text": "   ", "id": "m3"}, 400, "text"),
    ("missing id", {"from": REPORTER_PHONES[0], "text": "Kisumu"}, 400, "id"),
    ("id too long", {"from": REPORTER_PHONES[0], "text": "Kisumu", "id": "x" * 500}, 400, "id"),
    ("text too long", {"from": REPORTER_PHONES[0], "text": "a" * 1601, "id": "m4"}, 400, "limit"),
    ("control characters in id", {"from": REPORTER_PHONES[0], "text": "Kisumu", "id": "a\nb"}, 400, "id"),
]


@pytest.mark.parametrize(("case", "form", "status", "says"), HOSTILE, ids=[c[0] for c in HOSTILE])
async def test_malformed_at_forms_get_a_clear_4xx_and_store_nothing(
        at_client: TestClient, pool: asyncpg.Pool, case: str, form: dict[str, str], status: int, says: str) -> None:
    response = await at_client.post(f"{SMS}?token={AT_TOKEN}", data=form)
    assert response.status == status, case
    assert says in (await response.json())["error"]
    assert await count_rows(pool, "reports") == 0


async def test_hostile_bodies_get_a_4xx_never_a_500_and_earlier_reports_stay(
        at_client: TestClient, pool: asyncpg.Pool) -> None:
    assert await post_at(at_client, SMS, at_form("First, real report from Kisumu")) == 200
    url = f"{SMS}?token={AT_TOKEN}"
    huge = await at_client.post(url, data=b"text=" + b"a" * (10 * 1024 * 1024),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status == 413
    invalid = await at_client.post(url, data=b"from=%2B254712345678&id=x1&text=%FF%FE",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert invalid.status == 400 and "UTF-8" in (await invalid.json())["error"].upper()
    raw_bytes = await at_client.post(url, data="text=caf\u00e9".encode("latin-1"),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert raw_bytes.status == 400
    json_body = await at_client.post(url, json={"from": REPORTER_PHONES[0], "text": "x", "id": "j"})
    assert json_body.status == 415
    nul = await at_client.post(url, data={"from": REPORTER_PHONES[0], "text": "a\x00b", "id": "n"})
    assert nul.status == 400
    assert await count_rows(pool, "reports") == 1


@pytest.mark.parametrize("text", ["'; DROP TABLE reports; --", "<script>alert(1)</script> Kisumu",
                                  "Robert'); DELETE FROM opt_outs;--", "\u202eevil\u202c Kisumu 🔥"])
async def test_sql_and_html_in_the_text_are_stored_verbatim_and_unknown_fields_are_ignored(
        at_client: TestClient, pool: asyncpg.Pool, text: str) -> None:
    form = {**at_form(text), "unknownField": "whatever", "cost": "KES 0"}
    assert await post_at(at_client, SMS, form) == 200
    assert await pool.fetchval("SELECT body FROM reports") == text


# Each AT statusCode class: sent, retried later, given up at once.
STATUS_CODES = [(100, "sent"), (101, "sent"), (102, "sent"), (401, "pending"), (405, "pending"), (500, "pending"),
                (501, "pending"), (502, "pending"), (402, "dead"), (403, "dead"), (404, "dead"), (406, "dead"),
                (407, "dead"), (409, "dead")]


@pytest.mark.parametrize(("code", "outcome"), STATUS_CODES)
async def test_each_at_status_code_class_is_sent_retried_or_dead_lettered(
        at_client: TestClient, pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi, code: int, outcome: str) -> None:
    fake_at.codes.append(code)
    assert await post_at(at_client, SMS, at_form("Vijana wamechoma duka sokoni Kisumu")) == 200
    await eventually(lambda: _attempted(pool))
    row = await pool.fetchrow("SELECT status, last_error, provider_id FROM deliveries")
    assert row["status"] == outcome, row["last_error"]
    if outcome == "sent":
        assert row["provider_id"].startswith("ATXid_")
    else:
        assert str(code) in row["last_error"]


async def _attempted(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM deliveries WHERE attempts > 0 AND status <> 'sending'"))


@pytest.mark.parametrize(("http", "outcome"), [(401, "dead"), (400, "dead"), (429, "pending"), (500, "pending"),
                                               (503, "pending")])
async def test_http_failures_of_the_messaging_api_are_classified_too(
        at_client: TestClient, pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi, http: int, outcome: str) -> None:
    fake_at.http_failures.append(http)
    assert await post_at(at_client, SMS, at_form("Maandamano Kisumu mjini")) == 200
    await eventually(lambda: _attempted(pool))
    assert (await delivery_status(pool))[0][0] == outcome


async def test_a_wrong_api_key_is_a_dead_letter_and_the_key_is_never_logged(
        pool: asyncpg.Pool, at_settings: Settings, fake_at: FakeAfricasTalkingApi) -> None:
    fake_at.api_key = "another-key"
    async with quiet_client(at_settings) as client:
        assert await post_at(client, SMS, at_form("Kisumu kuna vita")) == 200
        await eventually(lambda: _attempted(pool))
    assert await delivery_status(pool) == [("dead", None)]
    assert "401" in await pool.fetchval("SELECT last_error FROM deliveries")


async def test_user_in_blacklist_opts_the_number_out_and_no_receipt_follows(
        at_client: TestClient, pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi) -> None:
    assert await post_at(at_client, SMS, at_form("Kisumu: vijana wanakusanyika")) == 200
    sent = await fake_at.wait_for(1)
    await eventually(lambda: _status_is(pool, ("sent", None)))  # AT answered; its message id is recorded
    assert await post_at(at_client, DELIVERY, {"id": sent[0]["messageId"], "status": "Failed",
                                               "failureReason": "UserInBlackList",
                                               "phoneNumber": REPORTER_PHONES[0]}) == 200
    assert await pool.fetchval("SELECT reason FROM opt_outs") == "delivery_report"
    assert await delivery_status(pool) == [("dead", "Failed")]  # dead-lettered: the number blocked us
    assert await post_at(at_client, SMS, at_form("Kisumu: sasa wanachoma nyumba")) == 200
    await eventually(lambda: settled(pool))
    assert await count_rows(pool, "reports") == 2 and len(fake_at.messages) == 1


async def test_an_at_opt_out_notification_suppresses_receipts_like_stop(
        at_client: TestClient, pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi) -> None:
    assert await post_at(at_client, OPT_OUT, {"senderId": "EWS", "phoneNumber": REPORTER_PHONES[2]}) == 200
    assert await post_at(at_client, OPT_OUT, {"senderId": "EWS"}) == 400
    assert await post_at(at_client, SMS, at_form("Mapigano Kisumu", sender=REPORTER_PHONES[2])) == 200
    await eventually(lambda: settled(pool))
    assert fake_at.messages == [] and await count_rows(pool, "reports") == 1


@pytest.mark.parametrize(("stop_by", "then_by"), [("twilio", "at"), ("at", "twilio"), ("at", "at"),
                                                  ("twilio", "twilio")])
@pytest.mark.parametrize("word", ["STOP", "acha", "Ondoka", "TOKA", "unsubscribe", "STOPALL", "end", "quit"])
async def test_no_receipt_is_ever_sent_after_an_opt_out_whatever_the_channels(
        at_client: TestClient, pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi, stop_by: str, then_by: str,
        word: str) -> None:
    phone = REPORTER_PHONES[3]
    if stop_by == "at":
        assert await post_at(at_client, SMS, at_form(word, sender=phone)) == 200
    else:
        await send_report(at_client, word, sender=phone)
    assert await count_rows(pool, "opt_outs") == 1 and await count_rows(pool, "reports") == 0
    if then_by == "at":
        assert await post_at(at_client, SMS, at_form("Watu wanapigana Kisumu", sender=phone)) == 200
        await eventually(lambda: settled(pool))
        assert fake_at.messages == []  # not even a confirmation of STOP: nothing more goes to them
    else:
        twiml = await send_report(at_client, "Watu wanapigana Kisumu", sender=phone)
        assert "<Message>" not in twiml
    assert await count_rows(pool, "reports") == 1
    # START / ANZA resumes receipts.
    assert await post_at(at_client, SMS, at_form("ANZA", sender=phone)) == 200
    assert await count_rows(pool, "opt_outs") == 0
    assert await post_at(at_client, SMS, at_form("Nyumba zimechomwa Kisumu", sender=phone)) == 200
    sent = await fake_at.wait_for(2)
    assert sent[0]["message"].startswith("EWS: utapokea ujumbe wetu tena") and "Kumbukumbu" in sent[1]["message"]


FLOOD_RULES = """
version = "flood-test"
[[rule]]
name = "every_report"
detector = "window_count"
groups = ["all"]
period = "hour"
[rule.params]
window = 1
threshold = 20
[rule.levels]
watch = 20
warning = 40
alert = 80
"""


async def test_a_thousand_messages_from_one_number_give_at_most_the_configured_receipts_and_no_level_change(
        pool: asyncpg.Pool, at_settings: Settings, fake_at: FakeAfricasTalkingApi) -> None:
    at_settings.rules_file.write_text(FLOOD_RULES)
    phone = REPORTER_PHONES[4]
    async with quiet_client(at_settings) as client:
        for start in range(0, 1000, 50):  # fifty at a time, as a flood arrives
            statuses = await asyncio.gather(*(post_at(client, SMS, at_form(
                f"Kisumu {i}: {uuid.uuid4().hex}", sender=phone)) for i in range(start, start + 50)))
            assert set(statuses) == {200}
        twiml = await send_report(client, "Kisumu yet another message", sender=phone)
        assert "<Message>" not in twiml  # the same sender through Twilio: an empty answer
        await eventually(lambda: settled(pool), timeout=30)
        client.app[EVALUATOR].tick()  # and a scheduled pass over every county changes nothing either
        await asyncio.sleep(0.5)
    assert await count_rows(pool, "reports") == 1001  # every one is stored
    assert await pool.fetchval("SELECT count(*) FROM reports WHERE NOT flooding") == 10
    assert len(fake_at.messages) == 10 == at_settings.flood_max_reports
    assert await pool.fetchval("SELECT max(level) FROM engine_states") == 0
    assert await count_rows(pool, "alerts") == 0


async def test_a_flooding_sender_calms_down_after_the_window(pool: asyncpg.Pool, at_settings: Settings,
                                                           fake_at: FakeAfricasTalkingApi) -> None:
    quick = at_settings.replace(flood_max_reports=2, flood_window_minutes=0.02)  # 1.2 seconds
    async with quiet_client(quick) as client:
        for i in range(4):
            assert await post_at(client, SMS, at_form(f"Kisumu ripoti {i} {uuid.uuid4().hex}")) == 200
        await asyncio.sleep(1.3)
        assert await post_at(client, SMS, at_form("Kisumu baadaye, tulivu")) == 200
        await fake_at.wait_for(3)
    flags = [r["flooding"] for r in await pool.fetch("SELECT flooding FROM reports ORDER BY id")]
    assert flags == [False, False, True, True, False]


async def test_near_identical_texts_from_one_sender_are_repeats_linked_to_the_first_and_not_counted(
        pool: asyncpg.Pool, at_settings: Settings) -> None:
    at_settings.rules_file.write_text(FLOOD_RULES.replace("watch = 20", "watch = 1"))
    async with quiet_client(at_settings.replace(incident_window=7200)) as client:
        for text in ("Men with pangas gathering at Kibuye market, Kisumu!", "men with PANGAS gathering at kibuye "
                     "market kisumu", "Men with pangas gathering at Kibuye market Kisumu."):
            assert await post_at(client, SMS, at_form(text, sender=REPORTER_PHONES[5])) == 200
        # The same text from another phone is another witness, not a repeat.
        assert await post_at(client, SMS, at_form("Men with pangas gathering at Kibuye market, Kisumu!",
                                                  sender=REPORTER_PHONES[6])) == 200
        await eventually(lambda: _level_is(pool, 42, 1))
        await client.app[EVALUATOR].evaluate([42])  # a count over all four reports, whenever they committed
    rows = await pool.fetch("SELECT id, repeat_of FROM reports ORDER BY id")
    first = rows[0]["id"]
    assert [r["repeat_of"] for r in rows] == [None, first, first, None]
    # Counted once: one incident with two witnesses (the repeats count for nothing), corroborated.
    assert await pool.fetchval("SELECT statistic FROM engine_states WHERE county_code = 42") == 1
    unit = await pool.fetchrow("SELECT reports, corroborated FROM series_units WHERE county_code = 42")
    assert (unit["reports"], unit["corroborated"]) == (2, True)
    async with quiet_client(at_settings) as client:
        shown = (await (await client.get("/api/v1/reports?county=42")).json())["reports"]
        # One report's object (and so `ews export`, which a backtest reads) carries the same marks.
        second = await (await client.get(f"/api/v1/reports/{rows[1]['id']}")).json()
    assert [r["repeat_of"] for r in reversed(shown)] == [None, f"EWS-{first}", f"EWS-{first}", None]
    assert not any(r["flooding"] for r in shown)
    assert (second["repeat_of"], second["flooding"], second["from_monitor"]) == (f"EWS-{first}", False, False)


async def _level_is(pool: asyncpg.Pool, county: int, level: int) -> bool:
    return bool(await pool.fetchval("SELECT max(level) FROM engine_states WHERE county_code = $1", county) == level)


MONITORS = """name,phone,county,ward,organisation,language
Akinyi Monitor,+254790123456,Kisumu,0217,Kisumu Peace Committee,sw
"""


async def test_registered_monitors_structured_sms_help_and_home_place(
        at_client: TestClient, pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi) -> None:
    added, updated = await import_monitors(pool, parse_monitors(MONITORS, fmt="csv"), hash_key=SENDER_KEY,
                                           cipher=ContactCipher(CONTACT_KEY))
    assert (added, updated) == (1, 0)
    monitor = REPORTER_PHONES[5]
    assert await pool.fetchval("SELECT count(*) FROM monitors WHERE phone_hash LIKE '%254%'") == 0
    assert await post_at(at_client, SMS, at_form("43 3 watu 40 wamekusanyika na mapanga", sender=monitor)) == 200
    assert await post_at(at_client, SMS, at_form("KSM 9 ng'ombe wameibiwa usiku", sender=monitor)) == 200
    assert await post_at(at_client, SMS, at_form("Hali ni tulivu leo sokoni", sender=monitor)) == 200
    rows = await pool.fetch("SELECT county_code, ward_code, incident_type, trust, monitor_id FROM reports ORDER BY id")
    assert [(r["county_code"], r["incident_type"]) for r in rows] == [
        (43, "armed_attack"), (42, "cattle_raiding"), (42, None)]
    assert rows[2]["ward_code"] == "0217"  # no place named: the monitor's home ward
    assert {r["trust"] for r in rows} == {1.0} and None not in {r["monitor_id"] for r in rows}
    # A stranger's "43 3 ..." is free text: no trust mark, the county from the text only.
    assert await post_at(at_client, SMS, at_form("43 3 watu wamekusanyika", sender=REPORTER_PHONES[6])) == 200
    stranger = await pool.fetchrow("SELECT county_code, trust, monitor_id FROM reports ORDER BY id DESC LIMIT 1")
    assert (stranger["trust"], stranger["monitor_id"]) == (None, None)

    # Four receipts, and the stranger (who named no place) is asked where it happened.
    before = await fake_at.wait_for(5)
    assert sum("Hii ilitokea wapi" in m["message"] or "Where did this happen" in m["message"] for m in before) == 1
    assert await post_at(at_client, SMS, at_form("MSAADA", sender=monitor)) == 200
    sent = await fake_at.wait_for(7)
    help_sms = [m["message"] for m in sent[5:]]
    assert len(help_sms) == 2 and all(len(m) <= 153 for m in help_sms)
    assert "KAUNTI AINA" in help_sms[0] and "14 si tukio" in help_sms[1]
    assert await post_at(at_client, SMS, at_form("HELP", sender=REPORTER_PHONES[7])) == 200
    sent = await fake_at.wait_for(8)
    assert sent[7]["message"].startswith("EWS: text what happened")


async def test_kept_contacts_expire_and_the_purge_drops_the_number_before_any_late_send(
        at_client: TestClient, pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi) -> None:
    assert await post_at(at_client, SMS, at_form("Kisumu: barabara imefungwa")) == 200
    await fake_at.wait_for(1)
    expires = await pool.fetchval("SELECT expires_at - created_at FROM reporter_contacts")
    assert expires == timedelta(days=30)
    assert await purge_reporter_contacts(pool, now=utcnow()) == 0
    assert await purge_reporter_contacts(pool, now=utcnow() + timedelta(days=31)) == 1
    assert await pool.fetchval("SELECT address_enc FROM reporter_contacts") is None
    # A message queued for a purged contact is not sent (its number is gone).
    await pool.execute("UPDATE reporter_contacts SET expires_at = now() + interval '1 day'")
    await pool.execute("""INSERT INTO outbox (kind, reporter_contact_id, body, language, created_at)
                          SELECT 'question', id, 'Which ward?', 'en', now() FROM reporter_contacts""")
    at_client.app[DISPATCHER].wake()
    await eventually(lambda: settled(pool))
    assert len(fake_at.messages) == 1


@pytest.mark.parametrize("opted_out_after", ["queued", "expanded"])
async def test_an_opt_out_arriving_after_a_receipt_was_queued_still_stops_it(
        pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi, opted_out_after: str) -> None:
    from ews.alerting.dispatch import Dispatcher
    from ews.alerting.expand import expand_outbox
    from ews.core.privacy import sender_hash
    from ews.db.repo.outbox import enqueue_message, keep_reporter_contact
    from notifiers.africastalking_sms import AfricasTalkingSmsNotifier

    cipher = ContactCipher(CONTACT_KEY)
    now = utcnow()
    async with pool.acquire() as conn, conn.transaction():
        contact = await keep_reporter_contact(conn, hash_key=SENDER_KEY, cipher=cipher, address=REPORTER_PHONES[1],
                                              channel="sms", language="en", now=now,
                                              notifier=AfricasTalkingSmsNotifier.kind)
        await enqueue_message(conn, kind="receipt", body="Thank you. Ref EWS-1.", language="en", now=now,
                              reporter_contact_id=contact)
    notifier = AfricasTalkingSmsNotifier(username=AT_USERNAME, api_key=fake_at.api_key, api_base=fake_at.url)
    served = {notifier.kind: notifier.channels}
    if opted_out_after == "expanded":
        await expand_outbox(pool, served=served, now=now)
    await pool.execute("INSERT INTO opt_outs (sender_hash, since) VALUES ($1, now())",
                       sender_hash(SENDER_KEY, REPORTER_PHONES[1]))
    dispatcher = Dispatcher(pool, [notifier], cipher, retry_for=timedelta(minutes=1), send_timeout=5)
    await dispatcher.drain()
    await notifier.close()
    assert fake_at.messages == []
    rows = await pool.fetch("SELECT status, last_error FROM deliveries")
    if opted_out_after == "queued":
        assert rows == []  # never expanded into a delivery
    else:
        assert [(r["status"], r["last_error"]) for r in rows] == [("dead", "recipient opted out")]
