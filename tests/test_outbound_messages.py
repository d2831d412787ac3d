"""Outbound messages of every kind through one outbox, several notifiers at once, contacts per channel,
and the responder commands (list with masked addresses, remove)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ews.alerting.directory import DirectoryError, mask_address, parse_directory
from ews.alerting.dispatch import Dispatcher
from ews.alerting.expand import route
from ews.core.clock import utcnow
from ews.core.privacy import ContactCipher, sender_hash
from ews.core.settings import Settings
from ews.db.migrate import apply_migrations, load_migrations
from ews.db.repo.commands import set_opted_out
from ews.db.repo.outbox import enqueue_message, keep_reporter_contact
from ews.web.app import create_app
from notifiers.registry import NOTIFIERS, build_all
from notifiers.twilio_sms import TwilioSmsNotifier
from tests.conftest import (
    CONTACT_KEY,
    REPORTER_PHONES,
    RESPONDER_PHONES,
    SENDER_KEY,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
)
from tests.helpers import ScratchDatabase, add_responders, eventually, send_report
from tests.loopback import FakeTwilioApi

CIPHER = ContactCipher(CONTACT_KEY)
WITH_EMAIL = f"""name,phone,county,role,language,email,webhook
Achieng (CSIC Kisumu),{RESPONDER_PHONES[0]},Kisumu,csic,sw,Achieng@Example.org,
Peter (CSIC Nakuru),{RESPONDER_PHONES[1]},Nakuru,csic,en,,
Situation room,{RESPONDER_PHONES[2]},national,analyst,en,,https://hooks.example.org/ews?t=abc
"""


@pytest.fixture
async def notifier(fake_twilio: FakeTwilioApi) -> TwilioSmsNotifier:
    """The real Twilio notifier aimed at the loopback API."""
    sender = TwilioSmsNotifier(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, sender=TWILIO_FROM,
                               api_base=fake_twilio.url, timeout=5)
    yield sender  # type: ignore[misc]
    await sender.close()


@pytest.mark.parametrize(("channel", "preferred", "expected"), [
    ("sms", None, "twilio_sms"),
    ("sms", "console", "console"),  # a configured preference wins
    ("sms", "africastalking_sms", "twilio_sms"),  # a preference not configured falls back by channel
    ("email", None, "console"),
    ("webhook", "twilio_sms", "console"),  # a preference that cannot send the channel is ignored
])
def test_a_contact_is_routed_to_a_configured_notifier_for_its_channel(channel: str, preferred: str | None,
                                                                      expected: str) -> None:
    served = {"twilio_sms": ("sms",), "console": ("sms", "email", "webhook")}
    assert route(channel, preferred, served) == expected


def test_a_channel_no_notifier_sends_has_no_route() -> None:
    assert route("email", None, {"twilio_sms": ("sms",)}) is None


async def test_notifiers_named_in_ews_notifiers_are_all_built_in_order(settings: Settings) -> None:
    built = build_all(settings.replace(notifiers="twilio_sms, console"))
    try:
        assert [n.kind for n in built] == ["twilio_sms", "console"]
    finally:
        for n in built:
            await n.close()
    assert NOTIFIERS.names()[:2] == ["console", "twilio_sms"]
    known = "africastalking_sms, console, email, twilio_sms, webhook"
    with pytest.raises(ValueError, match=f"unknown notifier 'pigeon'; known: {known}"):
        build_all(settings.replace(notifiers="console,pigeon"))


async def test_every_notifier_declares_secrets_the_log_scrubber_knows(settings: Settings) -> None:
    # Each notifier's secrets() must be among the settings' secrets, which the log scrubber masks.
    from tests.conftest import AT_API_KEY, SMTP_PASSWORD, WEBHOOK_SECRET

    full = settings.replace(at_username="ews", at_api_key=AT_API_KEY, smtp_host="127.0.0.1",
                            smtp_from="alerts@ews.example.org", smtp_user="ews", smtp_password=SMTP_PASSWORD,
                            webhook_secret=WEBHOOK_SECRET,
                            webhook_secrets=f"https://partner.example.org=own-{WEBHOOK_SECRET}",
                            notifiers=",".join(NOTIFIERS.names()))
    built = build_all(full)
    try:
        assert sorted(n.kind for n in built) == sorted(NOTIFIERS.names())
        for notifier in built:
            declared = set(notifier.secrets())
            assert declared <= set(full.secrets()), notifier.kind
            assert all(secret not in repr(notifier) for secret in declared), notifier.kind
        assert {n.kind for n in built if n.secrets()} == {"twilio_sms", "africastalking_sms", "email", "webhook"}
    finally:
        for n in built:
            await n.close()


def test_the_directory_reads_optional_email_and_webhook_columns() -> None:
    achieng, peter, room = parse_directory(WITH_EMAIL, fmt="csv")
    assert achieng.contacts() == [("sms", RESPONDER_PHONES[0]), ("email", "achieng@example.org")]
    assert peter.contacts() == [("sms", RESPONDER_PHONES[1])]
    assert room.contacts() == [("sms", RESPONDER_PHONES[2]), ("webhook", "https://hooks.example.org/ews?t=abc")]
    assert "example.org" not in repr(achieng) and RESPONDER_PHONES[0] not in repr(achieng)
    old_format = f"name,phone,county,role,language\nA,{RESPONDER_PHONES[0]},Kisumu,csic,en\n"
    assert parse_directory(old_format, fmt="csv")[0].contacts() == [("sms", RESPONDER_PHONES[0])]


@pytest.mark.parametrize(("extra", "message"), [
    (",not-an-address,", "email is not an address"),
    (",,ftp://example.org/x", r"webhook must be an http\(s\) URL"),
    (",,https://", r"webhook must be an http\(s\) URL"),
])
def test_bad_email_or_webhook_is_refused_with_a_reason(extra: str, message: str) -> None:
    text = f"name,phone,county,role,language,email,webhook\nA,{RESPONDER_PHONES[0]},Kisumu,csic,en{extra}\n"
    with pytest.raises(DirectoryError, match=message):
        parse_directory(text, fmt="csv")


@pytest.mark.parametrize(("channel", "address", "masked"), [
    ("sms", "+254712345678", "+2547•••••678"),
    ("sms", "+15005550006", "+1500••••006"),
    ("email", "achieng@example.org", "a•••@example.org"),
    ("webhook", "https://hooks.example.org/ews?t=abc", "https://hooks.example.org/•••"),
])
def test_addresses_are_masked_for_display(channel: str, address: str, masked: str) -> None:
    assert mask_address(channel, address) == masked


async def test_an_alert_goes_to_every_contact_through_the_notifier_for_its_channel(
        pool: asyncpg.Pool, settings: Settings, fake_twilio: FakeTwilioApi,
        capsys: pytest.CaptureFixture[str]) -> None:
    await add_responders(pool, WITH_EMAIL)
    async with TestClient(TestServer(create_app(settings.replace(notifiers="twilio_sms,console")))) as client:
        for text in ("Fujo Kisumu", "Mapigano Kisumu sokoni"):
            await send_report(client, text)
        messages = await fake_twilio.wait_for(2)
        await eventually(lambda: _sent(pool, 4))
    assert {m.form["To"] for m in messages} == {RESPONDER_PHONES[0], RESPONDER_PHONES[2]}
    rows = await pool.fetch("SELECT kind, channel, notifier, language FROM deliveries ORDER BY id")
    assert sorted((r["channel"], r["notifier"]) for r in rows) == [
        ("email", "console"), ("sms", "twilio_sms"), ("sms", "twilio_sms"), ("webhook", "console")]
    assert {r["kind"] for r in rows} == {"alert"}
    printed = capsys.readouterr().out
    assert "[EMAIL to Achieng (CSIC Kisumu) #1 (sw)] EWS UANGALIZI: Kaunti ya Kisumu" in printed
    assert "[WEBHOOK to Situation room #3 (en)] EWS WATCH: Kisumu county" in printed
    assert "example.org" not in printed and "hooks" not in printed


async def test_reimporting_without_a_channel_stops_sending_to_it(pool: asyncpg.Pool) -> None:
    await add_responders(pool, WITH_EMAIL)
    await add_responders(pool, WITH_EMAIL.replace("Achieng@Example.org", ""))
    active = await pool.fetch("SELECT responder_id, channel FROM responder_contacts WHERE active ORDER BY id")
    assert [(r["responder_id"], r["channel"]) for r in active] == [(1, "sms"), (2, "sms"), (3, "sms"), (3, "webhook")]


async def test_a_receipt_for_a_reporter_rides_the_outbox_in_the_callers_transaction(
        pool: asyncpg.Pool, fake_twilio: FakeTwilioApi, notifier: TwilioSmsNotifier) -> None:
    reporter = REPORTER_PHONES[3]
    report_id = await pool.fetchval(
        "INSERT INTO reports (source, external_id, channel, body, sender_hash, language, received_at) "
        "VALUES ('twilio_sms', 'SMreceipt', 'twilio_sms', 'Fujo', 'h', 'sw', now()) RETURNING id")
    now = utcnow()

    async def enqueue(conn: asyncpg.Connection) -> int:
        contact = await keep_reporter_contact(conn, hash_key=SENDER_KEY, cipher=CIPHER, address=reporter,
                                              channel="sms", language="sw", now=now)
        return await enqueue_message(conn, kind="receipt", body="Asante. Kumbukumbu EWS-1.", language="sw",
                                     now=now, reporter_contact_id=contact, report_id=report_id)

    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await enqueue(conn)
        await transaction.rollback()  # the caller's change failed: no message either
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    assert await pool.fetchval("SELECT count(*) FROM reporter_contacts") == 0
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn)
        await enqueue(conn)  # the same person again: one kept contact, two messages

    dispatcher = Dispatcher(pool, [notifier], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5)
    assert await dispatcher.drain() == 2
    assert [m.form["To"] for m in fake_twilio.messages] == [reporter, reporter]
    assert fake_twilio.messages[0].form["Body"] == "Asante. Kumbukumbu EWS-1."
    assert await pool.fetchval("SELECT count(*) FROM reporter_contacts") == 1
    rows = await pool.fetch("SELECT kind, status, channel, reporter_contact_id, responder_contact_id "
                            "FROM deliveries")
    kept_id = await pool.fetchval("SELECT id FROM reporter_contacts")
    assert [tuple(r.values()) for r in rows] == [("receipt", "sent", "sms", kept_id, None)] * 2
    kept = await pool.fetchrow("SELECT t::text AS row, address_enc FROM reporter_contacts t")
    assert reporter not in kept["row"] and reporter[1:] not in kept["row"]
    assert CIPHER.decrypt(kept["address_enc"]) == reporter


async def test_a_reporter_who_sent_stop_is_sent_nothing(pool: asyncpg.Pool, fake_twilio: FakeTwilioApi,
                                                        notifier: TwilioSmsNotifier) -> None:
    now = utcnow()
    async with pool.acquire() as conn, conn.transaction():
        for address in REPORTER_PHONES[:2]:
            contact = await keep_reporter_contact(conn, hash_key=SENDER_KEY, cipher=CIPHER, address=address,
                                                  channel="sms", language="en", now=now)
            await enqueue_message(conn, kind="question", body="Which ward?", language="en", now=now,
                                  reporter_contact_id=contact)
        await set_opted_out(conn, sender_hash(SENDER_KEY, REPORTER_PHONES[0]), opted_out=True, now=now)
    dispatcher = Dispatcher(pool, [notifier], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5)
    await dispatcher.drain()
    assert [m.form["To"] for m in fake_twilio.messages] == [REPORTER_PHONES[1]]


async def test_a_direct_message_no_notifier_can_send_is_a_dead_letter(
        pool: asyncpg.Pool, notifier: TwilioSmsNotifier) -> None:
    async with pool.acquire() as conn, conn.transaction():
        contact = await keep_reporter_contact(conn, hash_key=SENDER_KEY, cipher=CIPHER, address="someone@example.org",
                                              channel="email", language="en", now=utcnow())
        await enqueue_message(conn, kind="question", body="Where exactly?", language="en", now=utcnow(),
                              reporter_contact_id=contact)
    dispatcher = Dispatcher(pool, [notifier], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5)
    assert await dispatcher.drain() == 0
    row = await pool.fetchrow("SELECT status, last_error FROM deliveries")
    assert tuple(row.values()) == ("dead", "no configured notifier sends email")


async def test_alerts_cannot_be_queued_through_the_direct_path(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(ValueError, match="kind must be one of receipt, question, ack_confirmation"):
            await enqueue_message(conn, kind="alert", body="x", language="en", now=utcnow(), reporter_contact_id=1)


@pytest.mark.parametrize("sql", [
    # an alert row must name its alert and figures
    "INSERT INTO outbox (kind, event, level, trigger_count, why_en, why_sw, created_at) "
    "VALUES ('alert', 'raised', 1, 2, 'x', 'x', now())",
    # any other kind names exactly one recipient and its text
    "INSERT INTO outbox (kind, body, language, created_at) VALUES ('receipt', 'x', 'en', now())",
    "INSERT INTO outbox (kind, language, created_at, reporter_contact_id) "
    "VALUES ('receipt', 'en', now(), (SELECT id FROM reporter_contacts))",
    "INSERT INTO outbox (kind, body, language, created_at) VALUES ('telegram', 'x', 'en', now())",
])
async def test_the_outbox_kinds_are_held_by_constraints(pool: asyncpg.Pool, sql: str) -> None:
    await pool.execute("INSERT INTO reporter_contacts (sender_hash, channel, address_enc, language, created_at, "
                       "updated_at) VALUES ('h', 'sms', '\\x00', 'en', now(), now())")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(sql)


async def test_a_delivery_has_exactly_one_recipient(pool: asyncpg.Pool) -> None:
    await add_responders(pool, WITH_EMAIL)
    await pool.execute("INSERT INTO reporter_contacts (sender_hash, channel, address_enc, language, created_at, "
                       "updated_at) VALUES ('h', 'sms', '\\x00', 'en', now(), now())")
    outbox = await pool.fetchval("INSERT INTO outbox (kind, body, language, created_at, reporter_contact_id) "
                                 "VALUES ('receipt', 'x', 'en', now(), 1) RETURNING id")
    insert = ("INSERT INTO deliveries (outbox_id, kind, channel, language, notifier, body, next_attempt_at, "
              "created_at, retry_from, responder_contact_id, reporter_contact_id) "
              "VALUES ($1, 'receipt', 'sms', 'en', 'console', 'x', now(), now(), now(), $2, $3)")
    for both_or_none in ((1, 1), (None, None)):
        with pytest.raises(asyncpg.CheckViolationError):
            await pool.execute(insert, outbox, *both_or_none)
    await pool.execute(insert, outbox, None, 1)
    with pytest.raises(asyncpg.UniqueViolationError):  # once per (message, contact)
        await pool.execute(insert, outbox, None, 1)


async def test_migration_0009_carries_responders_and_deliveries_over(server_url: str) -> None:
    earlier = [m for m in load_migrations() if m.version < "0009"]
    async with ScratchDatabase(server_url, "ews_test_migrate_0009") as scratch:
        conn = await asyncpg.connect(scratch.url)
        try:
            await conn.execute("CREATE TABLE schema_migrations (version text PRIMARY KEY, name text NOT NULL, "
                               "applied_at timestamptz NOT NULL DEFAULT now())")
            for migration in earlier:
                await conn.execute(migration.sql)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                   migration.version, migration.name)
            enc = CIPHER.encrypt(RESPONDER_PHONES[0])
            await conn.execute("INSERT INTO responders (name, phone_hash, phone_enc, county_code, role, language) "
                               "VALUES ('Achieng', 'hash0', $1, 42, 'csic', 'sw')", enc)
            await conn.execute(
                "INSERT INTO alerts (rule, county_code, level, peak_level, trigger_count, opened_at, updated_at) "
                "VALUES ('r', 42, 1, 1, 2, now(), now());"
                "INSERT INTO outbox (alert_id, event, level, trigger_count, window_seconds, threshold, created_at) "
                "VALUES (1, 'raised', 1, 2, 600, 2, now());"
                "INSERT INTO deliveries (outbox_id, responder_id, notifier, body, status, next_attempt_at, "
                "created_at) VALUES (1, 1, 'twilio_sms', 'EWS UANGALIZI', 'dead', now(), now())")
            applied = await apply_migrations(conn)
            assert applied[0].startswith("0009_")
            contact = await conn.fetchrow("SELECT responder_id, channel, address_hash, address_enc "
                                          "FROM responder_contacts")
            assert (contact["responder_id"], contact["channel"], contact["address_hash"]) == (1, "sms", "hash0")
            assert CIPHER.decrypt(contact["address_enc"]) == RESPONDER_PHONES[0]
            delivery = await conn.fetchrow("SELECT kind, channel, language, responder_contact_id, retry_from "
                                           "FROM deliveries")
            assert tuple(delivery.values())[:4] == ("alert", "sms", "sw", 1) and delivery["retry_from"]
            assert await conn.fetchval("SELECT kind FROM outbox") == "alert"
        finally:
            await conn.close()


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's environment against the test database; the suite's log handlers kept."""
    for name, value in (("EWS_DATABASE_URL", database_url), ("EWS_SENDER_KEY", SENDER_KEY),
                        ("EWS_CONTACT_KEY", CONTACT_KEY)):
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_responders_list_masks_every_address_and_remove_deactivates(
        pool: asyncpg.Pool, cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    from ews.cli.main import main

    await add_responders(pool, WITH_EMAIL)
    assert await asyncio.to_thread(main, ["responders", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Achieng (CSIC Kisumu)" in listed and "Kisumu" in listed and "national" in listed
    assert "sms +2547•••••222" in listed and "email a•••@example.org" in listed
    assert "webhook https://hooks.example.org/•••" in listed
    for phone in RESPONDER_PHONES:
        assert phone not in listed and phone[4:] not in listed and phone[-6:] not in listed
    assert "abc" not in listed and "achieng@" not in listed

    assert await asyncio.to_thread(main, ["responders", "remove", "1"]) == 0
    assert await asyncio.to_thread(main, ["responders", "remove", "1"]) == 1, "already removed"
    assert await asyncio.to_thread(main, ["responders", "remove", "99"]) == 1
    assert await pool.fetchval("SELECT active FROM responders WHERE id = 1") is False
    audited = [r["action"] for r in await pool.fetch("SELECT action FROM audit_log WHERE actor = 'cli' "
                                                 "AND action <> 'responders.import' ORDER BY id")]
    assert audited == ["responders.list", "responders.remove"]
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["responders", "list"]) == 0
    assert "removed" in next(line for line in capsys.readouterr().out.splitlines() if "Achieng" in line)


async def test_a_removed_responder_gets_no_more_alerts(client: TestClient, pool: asyncpg.Pool,
                                                       fake_twilio: FakeTwilioApi) -> None:
    from ews.db.repo.responders import deactivate_responder

    await add_responders(pool, WITH_EMAIL)
    assert await deactivate_responder(pool, 3)
    for text in ("Fujo Kisumu", "Mapigano Kisumu sokoni"):
        await send_report(client, text)
    await fake_twilio.wait_for(1)
    await eventually(lambda: _sent(pool, 1))
    assert [m.form["To"] for m in fake_twilio.messages] == [RESPONDER_PHONES[0]]


async def _sent(pool: asyncpg.Pool, count: int) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent'") >= count)
