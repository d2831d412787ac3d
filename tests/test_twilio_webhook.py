"""The Twilio SMS webhook: signatures, storage before reply, idempotency, hostile input."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ews.core.settings import Settings
from ews.web.app import create_app
from tests.conftest import PUBLIC_URL, REPORTER_PHONES, random_sid
from tests.helpers import SMS_PATH, ScratchDatabase, count_rows, eventually, post_signed, sms_form


def reply_text(twiml: str) -> str:
    """The message text in a TwiML reply."""
    root = ET.fromstring(twiml)  # noqa: S314 - our own server's output
    assert root.tag == "Response"
    message = root.find("Message")
    assert message is not None and message.text
    return message.text


async def test_signed_report_is_stored_before_the_reply(client: TestClient, pool: asyncpg.Pool) -> None:
    body = "Men with pangas gathering at the market in Kisumu"
    response = await post_signed(client, sms_form(body, sid="SM" + "a" * 32))
    assert response.status == 200
    assert response.content_type == "application/xml"
    text = reply_text(await response.text())
    row = await pool.fetchrow("SELECT id, source, external_id, body, county_code, language, sender_hash "
                              "FROM reports")
    assert row is not None, "the reply came before the row was committed"
    assert f"EWS-{row['id']}" in text
    assert (row["source"], row["external_id"]) == ("twilio_sms", "SM" + "a" * 32)
    # The place is read from the text after the commit (the placing stage), not before the reply.
    await eventually(lambda: pool.fetchval("SELECT understood FROM reports"))
    assert await pool.fetchval("SELECT county_code FROM reports") == 42
    assert row["language"] == "en" and text.startswith("Thank you")
    assert "panga" not in text.lower() and "kisumu" not in text.lower(), "the receipt repeats the report"
    assert len(row["sender_hash"]) == 64 and REPORTER_PHONES[0] not in row["sender_hash"]


async def test_swahili_report_gets_a_swahili_receipt(client: TestClient) -> None:
    response = await post_signed(client, sms_form("Vijana wamebeba mapanga sokoni Kondele, tafadhali saidia"))
    text = reply_text(await response.text())
    assert text.startswith("Asante") and "EWS-" in text


async def test_same_message_sid_twice_stores_one_row_and_replies_the_same(
        client: TestClient, pool: asyncpg.Pool) -> None:
    form = sms_form("Stones thrown at voters in Nakuru", sid=random_sid())
    first = await post_signed(client, form)
    second = await post_signed(client, form)
    assert first.status == second.status == 200
    assert await first.text() == await second.text()
    assert await count_rows(pool, "reports") == 1


async def test_fifty_concurrent_webhooks_are_all_stored(client: TestClient, pool: asyncpg.Pool) -> None:
    # From several phones: one phone sending fifty would be flooding, and flooding senders get no receipt.
    forms = [sms_form(f"Report number {i} from Nakuru town", sid=random_sid(),
                      sender=REPORTER_PHONES[i % len(REPORTER_PHONES)]) for i in range(50)]
    responses = await asyncio.gather(*(post_signed(client, f) for f in forms))
    assert [r.status for r in responses] == [200] * 50
    references = {reply_text(await r.text()).split("Ref ")[1].split(".")[0] for r in responses}
    assert len(references) == 50
    assert await count_rows(pool, "reports") == 50
    stored = {r["external_id"] for r in await pool.fetch("SELECT external_id FROM reports")}
    assert stored == {f["MessageSid"] for f in forms}


async def test_concurrent_repeats_of_one_sid_store_one_row(client: TestClient, pool: asyncpg.Pool) -> None:
    form = sms_form("Houses burning in Eldoret", sid=random_sid())
    responses = await asyncio.gather(*(post_signed(client, form) for _ in range(10)))
    texts = {await r.text() for r in responses}
    assert [r.status for r in responses] == [200] * 10 and len(texts) == 1
    assert await count_rows(pool, "reports") == 1


@pytest.mark.parametrize("case", ["missing", "forged", "non-ascii", "other-token", "body-changed", "url-changed"])
async def test_bad_signatures_are_refused_and_nothing_is_stored(
        client: TestClient, pool: asyncpg.Pool, case: str) -> None:
    form = sms_form("Fake report meant to raise a false alarm in Kisumu", sid=random_sid())
    if case == "missing":
        response = await client.post(SMS_PATH, data=form)
    elif case == "forged":
        response = await client.post(SMS_PATH, data=form, headers={"X-Twilio-Signature": "AAAAforged="})
    elif case == "non-ascii":
        response = await client.post(SMS_PATH, data=form, headers={"X-Twilio-Signature": "sïgnätüre="})
    elif case == "other-token":
        response = await post_signed(client, form, token="not-the-real-token")
    elif case == "body-changed":
        # A captured, validly signed request replayed with a different Body.
        from ews.cli.simulate import sign
        headers = sign("test-auth-token-" + "9" * 16, PUBLIC_URL + SMS_PATH, form)
        response = await client.post(SMS_PATH, data={**form, "Body": "Everything is calm, ignore"},
                                     headers=headers)
    else:
        from ews.cli.simulate import sign
        headers = sign("test-auth-token-" + "9" * 16, "https://evil.example" + SMS_PATH, form)
        response = await client.post(SMS_PATH, data=form, headers=headers)
    assert response.status == 403
    assert "signature" in (await response.json())["error"].lower()
    assert await count_rows(pool, "reports") == 0


BAD_INPUT = [
    ("no From", lambda f: f.pop("From"), 400, "From"),
    ("no Body", lambda f: f.pop("Body"), 400, "Body"),
    ("no MessageSid", lambda f: f.pop("MessageSid"), 400, "MessageSid"),
    ("empty Body", lambda f: f.update(Body=""), 400, "Body"),
    ("blank Body", lambda f: f.update(Body="   \n "), 400, "Body"),
    ("Body over 1600", lambda f: f.update(Body="x" * 1601), 400, "1600"),
    ("NUL in Body", lambda f: f.update(Body="help\x00me"), 400, "NUL"),
    ("huge MessageSid", lambda f: f.update(MessageSid="SM" + "1" * 500), 400, "MessageSid"),
]


@pytest.mark.parametrize(("name", "mutate", "status", "reason"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
async def test_bad_fields_get_a_4xx_with_a_reason(client: TestClient, pool: asyncpg.Pool, name: str,
                                                   mutate, status: int, reason: str) -> None:  # type: ignore[no-untyped-def]
    form = sms_form("Violence in Kisumu", sid=random_sid())
    mutate(form)
    response = await post_signed(client, form)
    assert response.status == status, name
    assert reason in (await response.json())["error"]
    assert await count_rows(pool, "reports") == 0


async def test_exactly_1600_characters_is_accepted(client: TestClient, pool: asyncpg.Pool) -> None:
    body = ("Kisumu " * 400)[:1600]
    response = await post_signed(client, sms_form(body, sid=random_sid()))
    assert response.status == 200
    assert await count_rows(pool, "reports") == 1


@pytest.mark.parametrize(("raw", "content_type", "status"), [
    (b"MessageSid=SM1&From=%2B254712345678&Body=%FF%FEbad", "application/x-www-form-urlencoded", 400),
    (b"MessageSid=SM1&From=%2B254712345678&Body=caf\xc3\xa9", "application/x-www-form-urlencoded", 400),
    (b'{"MessageSid": "SM1"}', "application/json", 415),
    (b"MessageSid=SM1&Body=" + b"A" * 70_000, "application/x-www-form-urlencoded", 413),
    (b"Body=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82", "application/x-www-form-urlencoded; charset=latin-9x", 400),
], ids=["invalid-utf8", "raw-non-ascii", "json", "oversized", "unknown-charset"])
async def test_odd_encodings_get_a_4xx_never_a_500(client: TestClient, pool: asyncpg.Pool, raw: bytes,
                                                   content_type: str, status: int) -> None:
    response = await client.post(SMS_PATH, data=raw, headers={"Content-Type": content_type,
                                                               "X-Twilio-Signature": "x"})
    assert response.status == status
    assert "error" in await response.json()
    assert await count_rows(pool, "reports") == 0


async def test_emoji_and_swahili_accents_survive(client: TestClient, pool: asyncpg.Pool) -> None:
    body = "Fujo Kisumu 😡 — watu wengi “wanaandamana”"
    response = await post_signed(client, sms_form(body, sid=random_sid()))
    assert response.status == 200
    assert await pool.fetchval("SELECT body FROM reports") == body


async def test_numbers_typed_in_the_body_are_not_stored(client: TestClient, pool: asyncpg.Pool) -> None:
    response = await post_signed(client, sms_form("Call me on 0722 000 111 about Kisumu", sid=random_sid()))
    assert response.status == 200
    body = await pool.fetchval("SELECT body FROM reports")
    assert "0722" not in body and "[number removed]" in body


async def test_without_a_token_unsigned_webhooks_are_accepted_and_a_warning_logged(
        pool: asyncpg.Pool, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    open_settings = settings.replace(twilio_auth_token=None, notifiers="console")
    with caplog.at_level("WARNING"):
        app = create_app(open_settings)
    assert any("UNAUTHENTICATED" in r.getMessage() for r in caplog.records)
    async with TestClient(TestServer(app)) as open_client:
        response = await open_client.post(SMS_PATH, data=sms_form("Calm in Nyeri", sid=random_sid()))
        assert response.status == 200
    assert await count_rows(pool, "reports") == 1


def test_twiml_matches_what_twilios_own_builder_writes() -> None:
    from twilio.twiml.messaging_response import MessagingResponse

    from ews.core.models import CommandOutcome, IntakeResult
    from ingest.replies import command_reply, receipt
    from ingest.twilio_sms import TwilioSms

    answered = [IntakeResult(7, "EWS-7", 42, "sw", True), IntakeResult(8, "EWS-8<&>\"'", None, "en", True),
                CommandOutcome("help", "help", "sw")]
    expected = MessagingResponse()
    expected.message(receipt("EWS-7", "sw"))
    expected.message(receipt("EWS-8<&>\"'", "en"))
    expected.message(command_reply(CommandOutcome("help", "help", "sw")))
    response = TwilioSms(auth_token=None, public_url="https://x").answer(answered)
    assert isinstance(response, web.Response)
    assert response.text == str(expected)
    document = ET.fromstring(response.text)  # noqa: S314 - our own output
    assert [m.text for m in document.iter("Message")][1] == receipt("EWS-8<&>\"'", "en")


async def test_the_reply_waits_for_the_commit(client: TestClient, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as blocker, blocker.transaction():
        # Hold a lock that blocks every INSERT into reports, as a slow disk or a long vacuum would.
        await blocker.execute("LOCK TABLE reports IN EXCLUSIVE MODE")
        pending = asyncio.ensure_future(post_signed(client, sms_form("Fujo Kisumu", sid=random_sid())))
        await asyncio.sleep(0.5)
        assert not pending.done(), "the gateway was answered before the report was committed"
    response = await pending  # lock released: the INSERT commits, then the reply goes out
    assert response.status == 200
    assert await count_rows(pool, "reports") == 1


async def test_past_the_commit_timeout_the_gateway_gets_503_and_its_retry_finds_the_late_commit(
        pool: asyncpg.Pool, settings: Settings) -> None:
    # Twilio gives up after 15 s (error 11205): answering 503 before that lets it retry instead of
    # losing the receipt. The default is 10 s; a short one here keeps the test quick.
    assert Settings().intake_commit_timeout < 15
    quick = settings.replace(intake_commit_timeout=1.0)
    async with TestClient(TestServer(create_app(quick))) as quick_client:
        form = sms_form("Fujo Kisumu", sid=random_sid())
        loop = asyncio.get_running_loop()
        async with pool.acquire() as blocker, blocker.transaction():
            await blocker.execute("LOCK TABLE reports IN EXCLUSIVE MODE")
            started = loop.time()
            response = await post_signed(quick_client, form)
            waited = loop.time() - started
        assert response.status == 503 and 0.9 <= waited < 5, waited
        retry = await post_signed(quick_client, form)  # the lock is gone; the INSERT it waited on landed
        assert retry.status == 200
    assert await count_rows(pool, "reports") == 1


async def test_no_receipt_when_the_report_cannot_be_stored(server_url: str, settings: Settings) -> None:
    async with ScratchDatabase(server_url, "ews_store_gone") as scratch:
        doomed = settings.replace(database_url=scratch.url, notifiers="console")
        async with TestClient(TestServer(create_app(doomed))) as doomed_client:
            await scratch.drop()
            response = await post_signed(doomed_client, sms_form("Fujo Kisumu", sid=random_sid()))
            assert response.status == 503
            assert "could not be stored" in (await response.json())["error"]


async def test_a_signature_over_the_url_with_its_default_port_is_twilios_too(client: TestClient,
                                                                             pool: asyncpg.Pool) -> None:
    # Twilio signs some requests over https://host:443/...: the fallback to twilio's validate() takes them.
    from twilio.request_validator import RequestValidator

    from tests.conftest import TWILIO_TOKEN

    form = sms_form("Fujo Kisumu", sid=random_sid())
    with_port = PUBLIC_URL.replace("https://ews.example.org", "https://ews.example.org:443") + SMS_PATH
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(with_port, form)
    response = await client.post(SMS_PATH, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status == 200
    forged = await client.post(SMS_PATH, data=sms_form("Fujo", sid=random_sid()),
                               headers={"X-Twilio-Signature": "ñ" + signature[1:]})
    assert forged.status == 403
    assert await count_rows(pool, "reports") == 1
