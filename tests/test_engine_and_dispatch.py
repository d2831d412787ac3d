"""Rule state, alerts, outbox and dispatch against the real database, with time moved by a clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from ews.alerting.dispatch import Dispatcher, retry_delay
from ews.core.clock import utcnow
from ews.core.models import ReportIn, StorageUnavailable
from ews.core.privacy import ContactCipher
from ews.engine.evaluator import Evaluator
from ews.intake.writer import IntakeWriter
from notifiers.twilio_sms import TwilioSmsNotifier
from rules.series import period_start
from tests.conftest import CONTACT_KEY, RESPONDER_PHONES, SENDER_KEY, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN
from tests.helpers import add_responders, eventually, plan, send_report
from tests.loopback import FakeTwilioApi
from tests.test_end_to_end import RESPONDERS


@pytest.fixture
async def notifier(fake_twilio: FakeTwilioApi) -> AsyncIterator[TwilioSmsNotifier]:
    """The real Twilio notifier aimed at the loopback API."""
    sender = TwilioSmsNotifier(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, sender=TWILIO_FROM,
                               api_base=fake_twilio.url)
    yield sender
    await sender.close()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


async def raise_kisumu(client: TestClient, pool: asyncpg.Pool) -> None:
    """Two reports: Kisumu goes to WATCH and its alert is queued."""
    await add_responders(pool, RESPONDERS)
    for text in ("Fujo Kisumu", "Mapigano Kisumu sokoni"):
        await send_report(client, text)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM deliveries", 2))


async def test_retryable_failure_is_retried_after_backoff(client: TestClient, pool: asyncpg.Pool,
                                                          fake_twilio: FakeTwilioApi,
                                                          notifier: TwilioSmsNotifier) -> None:
    fake_twilio.failures = [(500, 30008), (500, 30008)]
    await raise_kisumu(client, pool)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM deliveries WHERE status = 'pending' "
                                          "AND attempts = 1", 2))
    row = await pool.fetchrow("SELECT next_attempt_at, last_error FROM deliveries LIMIT 1")
    assert row["last_error"] == "twilio http 500 code 30008"
    assert row["next_attempt_at"] > utcnow(), "a retry must wait for its backoff"
    clock = Clock()
    clock.now += retry_delay(1) + timedelta(seconds=1)
    dispatcher = Dispatcher(pool, [notifier], ContactCipher(CONTACT_KEY), retry_for=timedelta(minutes=30),
                            send_timeout=5, clock=clock)
    assert await dispatcher.drain() == 2
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent' AND attempts = 2") == 2
    assert len(fake_twilio.messages) == 2


async def test_permanent_failure_is_dead_lettered_at_once(client: TestClient, pool: asyncpg.Pool,
                                                          fake_twilio: FakeTwilioApi) -> None:
    fake_twilio.failures = [(400, 21211), (400, 21211)]
    await raise_kisumu(client, pool)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM deliveries WHERE status = 'dead'", 2))
    assert await pool.fetchval("SELECT max(attempts) FROM deliveries") == 1


async def test_retries_for_the_retry_window_then_gives_up(client: TestClient, pool: asyncpg.Pool,
                                                          fake_twilio: FakeTwilioApi,
                                                          notifier: TwilioSmsNotifier) -> None:
    fake_twilio.failures = [(503, 0)] * 100
    await raise_kisumu(client, pool)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM deliveries WHERE attempts = 1 "
                                          "AND status = 'pending'", 2))
    clock = Clock()
    dispatcher = Dispatcher(pool, [notifier], ContactCipher(CONTACT_KEY), retry_for=timedelta(minutes=30),
                            send_timeout=5, clock=clock)
    # An outage of far more than six attempts' worth (the old limit gave up after about 3.5 minutes).
    for _ in range(12):
        clock.now += timedelta(minutes=2)
        await dispatcher.drain()
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'pending' AND attempts > 6") == 2
    # Past the window the next retryable failure is the last.
    clock.now += timedelta(minutes=10)
    await dispatcher.drain()
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'dead'") == 2


async def test_unreachable_twilio_is_retryable(client: TestClient, pool: asyncpg.Pool) -> None:
    await add_responders(pool, RESPONDERS)
    dead_end = TwilioSmsNotifier(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, sender=TWILIO_FROM,
                                 api_base="http://127.0.0.1:9", timeout=2)
    try:
        from ews.core.models import Outgoing
        outcome = await dead_end.send(Outgoing(to=RESPONDER_PHONES[0], body="x", recipient_label="t",
                                               language="en", reference="A-1"))
    finally:
        await dead_end.close()
    assert outcome.status.value == "retryable" and RESPONDER_PHONES[0] not in outcome.reason


async def test_calm_county_resolves_after_hold_down_and_says_so(
        client: TestClient, pool: asyncpg.Pool, fake_twilio: FakeTwilioApi, notifier: TwilioSmsNotifier) -> None:
    await raise_kisumu(client, pool)
    await fake_twilio.wait_for(2)
    clock = Clock()
    dispatcher = Dispatcher(pool, [notifier], ContactCipher(CONTACT_KEY), retry_for=timedelta(minutes=30),
                            send_timeout=5, clock=clock)
    evaluator = Evaluator(pool, _rules(client), on_change=lambda: None,
                          clock=clock)
    reported = period_start(await pool.fetchval("SELECT max(received_at) FROM reports"), "hour")
    clock.now = reported + timedelta(hours=1, minutes=30)
    # The reports' hour is over and judged at its count; the running hour, however calm, cannot lower it.
    assert await evaluator.evaluate([42]) == []
    assert await pool.fetchval("SELECT judged_through FROM engine_states WHERE county_code = 42") == reported
    clock.now += timedelta(hours=1)
    (change,) = await evaluator.evaluate([42])  # a whole calm hour (keep_for = 0): back to NORMAL
    assert (change.from_level.name, change.to_level.name) == ("WATCH", "NORMAL")
    assert await pool.fetchval("SELECT closed_at FROM alerts") == clock.now
    await plan(pool, clock.now)
    await dispatcher.drain()
    resolved = [m.form["Body"] for m in fake_twilio.messages[2:]]
    assert len(resolved) == 2 and all("Kisumu" in b for b in resolved)
    assert any("back to normal" in b for b in resolved) and any("imerudi kawaida" in b for b in resolved)
    assert await pool.fetchval("SELECT count(*) FROM level_transitions") == 2


async def test_one_open_alert_per_rule_county_and_group_is_a_constraint(pool: asyncpg.Pool) -> None:
    insert = ("INSERT INTO alerts (rule, county_code, grp, level, peak_level, trigger_count, opened_at, updated_at) "
              "VALUES ('r', 42, $1, 1, 1, 3, now(), now())")
    await pool.execute(insert, "violence")
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(insert, "violence")
    await pool.execute(insert, "tension")  # another type group of the same rule has its own alert
    await pool.execute("UPDATE alerts SET closed_at = now()")
    await pool.execute(insert, "violence")  # closed alerts do not block a new one


async def test_one_report_per_source_and_external_id_is_a_constraint(pool: asyncpg.Pool) -> None:
    insert = ("INSERT INTO reports (source, external_id, channel, body, sender_hash, language, received_at) "
              "VALUES ('twilio_sms', 'SM1', 'twilio_sms', 'x', 'h', 'en', now())")
    await pool.execute(insert)
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(insert)


@pytest.mark.parametrize("code", [0, 48, -1])
async def test_a_report_county_is_one_of_the_47_codes(pool: asyncpg.Pool, code: int) -> None:
    insert = ("INSERT INTO reports (source, external_id, channel, body, sender_hash, county_code, language, "
              "received_at) "
              "VALUES ('twilio_sms', 'SMcode', 'twilio_sms', 'x', 'h', $1, 'en', now())")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(insert, code)
    await pool.execute(insert, 47)


@pytest.mark.parametrize("writers", [1, 4])
async def test_group_commit_stores_a_repeat_in_the_same_batch_once(pool: asyncpg.Pool, writers: int) -> None:
    committed: list[int] = []
    writer = IntakeWriter(pool, sender_key=SENDER_KEY, writers=writers, on_committed=lambda rs: committed.extend(
        r.report_id for r in rs))
    writer.start()
    try:
        report = ReportIn("twilio_sms", "SMsame", "Fujo Kisumu", sender="+254712345678", received_at=utcnow())
        others = [ReportIn("twilio_sms", f"SM{i}", "Nakuru", sender="+254712345678", received_at=utcnow())
                  for i in range(20)]
        results = await asyncio.gather(*(writer.submit(r) for r in [report, *others, report, report]))
    finally:
        await writer.stop()
    same = [r for r in results if r.report_id == results[0].report_id]
    assert len(same) == 3 and sum(r.created for r in same) == 1
    assert await pool.fetchval("SELECT count(*) FROM reports") == 21
    assert sorted(committed) == sorted({r.report_id for r in results})


def _rules(client: TestClient):  # type: ignore[no-untyped-def]
    from ews.web.appkeys import RULES

    return client.app[RULES]


async def _count(pool: asyncpg.Pool, sql: str, expected: int) -> bool:
    return bool(await pool.fetchval(sql) >= expected)


async def test_scheduler_tick_picks_up_reports_committed_elsewhere(pool: asyncpg.Pool, settings, fake_twilio):  # type: ignore[no-untyped-def]
    from aiohttp.test_utils import TestServer

    from ews.web.app import create_app

    await add_responders(pool, RESPONDERS)
    ticking = settings.replace(eval_interval=0.3)
    async with TestClient(TestServer(create_app(ticking))):
        # Let the start-up evaluation finish first, so only a later scheduled tick can see the rows.
        await eventually(lambda: _count(pool, "SELECT count(*) FROM engine_states WHERE evaluated_at IS NOT NULL", 47))
        # As if another instance had stored them: no in-process hook fires, only the scheduled tick.
        await pool.execute(
            "INSERT INTO reports (source, external_id, channel, body, sender_hash, county_code, language, received_at) "
            "SELECT 'twilio_sms', 'SMother' || i, 'twilio_sms', 'Fujo Kisumu', 'hash' || i, 42, 'sw', now() "
            "FROM generate_series(1, 2) AS i")
        messages = await fake_twilio.wait_for(2, timeout=10)
    assert all("Kisumu" in m.form["Body"] for m in messages)


async def test_a_report_storage_never_confirms_fails_after_the_timeout_and_is_not_lost(pool: asyncpg.Pool) -> None:
    writer = IntakeWriter(pool, sender_key=SENDER_KEY, confirm_timeout=0.4)
    writer.start()
    try:
        report = ReportIn("twilio_sms", "SMlocked", "Fujo Kisumu", sender="+254712345678", received_at=utcnow())
        async with pool.acquire() as blocker, blocker.transaction():
            # Every INSERT into reports waits for this lock, as it would behind a stuck disk.
            await blocker.execute("LOCK TABLE reports IN EXCLUSIVE MODE")
            with pytest.raises(StorageUnavailable, match="did not confirm"):
                await asyncio.wait_for(writer.submit(report), 5)  # a broken watchdog fails here, not hangs
        # The INSERT was already on its way and commits once the lock goes, though nobody waits for it
        # any more; the gateway's retry of the same MessageSid then finds it rather than storing it twice.
        await eventually(lambda: _count(pool, "SELECT count(*) FROM reports WHERE external_id = 'SMlocked'", 1))
        again = await writer.submit(report)
    finally:
        await writer.stop()
    assert again.created is False
    assert await pool.fetchval("SELECT count(*) FROM reports WHERE external_id = 'SMlocked'") == 1


async def test_a_writer_whose_connection_was_killed_stores_the_next_report_on_a_fresh_one(
        pool: asyncpg.Pool, database_url: str) -> None:
    own_pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2,
                                         server_settings={"application_name": "writer-under-test"})
    writer = IntakeWriter(own_pool, sender_key=SENDER_KEY, writers=1)
    writer.start()
    try:
        first = ReportIn("twilio_sms", "SMbefore", "Fujo Kisumu", sender="+254712345678", received_at=utcnow())
        assert (await writer.submit(first)).created
        # The writer keeps its connection between batches; end that session from the server side, as a
        # restart or an idle timeout would.
        killed = await pool.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                     "WHERE application_name = 'writer-under-test' AND datname = current_database()")
        assert killed >= 1
        second = ReportIn("twilio_sms", "SMafter", "Fujo Kisumu", sender="+254712345679", received_at=utcnow())
        result = await asyncio.wait_for(writer.submit(second), 10)
    finally:
        await writer.stop()
        await own_pool.close()
    assert result.created
    assert await pool.fetchval("SELECT count(*) FROM reports WHERE external_id IN ('SMbefore', 'SMafter')") == 2


async def test_a_writer_whose_connection_dies_in_the_middle_of_a_batch_stores_it_on_a_fresh_one(
        pool: asyncpg.Pool, database_url: str) -> None:
    # The other race of the test above: the session ends while the batch's statement is in flight, which
    # asyncpg reports as ConnectionDoesNotExistError (a PostgresError), not as a closed connection.
    own_pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2,
                                         server_settings={"application_name": "writer-mid-batch"})
    writer = IntakeWriter(own_pool, sender_key=SENDER_KEY, writers=1)
    writer.start()
    try:
        async with pool.acquire() as blocker, blocker.transaction():
            await blocker.execute("LOCK TABLE reports IN ACCESS EXCLUSIVE MODE")
            report = ReportIn("twilio_sms", "SMmidbatch", "Fujo Kisumu", sender="+254712345670",
                              received_at=utcnow())
            pending = asyncio.ensure_future(writer.submit(report))
            waiting = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'writer-mid-batch' "
                       "AND datname = current_database() AND wait_event_type = 'Lock'")
            await eventually(lambda: _count(pool, waiting, 1))
            await blocker.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE application_name = 'writer-mid-batch' AND datname = current_database()")
            await asyncio.sleep(0.2)  # the retry queues behind the lock; releasing it lets the batch through
        result = await asyncio.wait_for(pending, 10)
    finally:
        await writer.stop()
        await own_pool.close()
    assert result.created
    assert await pool.fetchval("SELECT count(*) FROM reports WHERE external_id = 'SMmidbatch'") == 1


async def test_stopping_commits_what_was_submitted_and_refuses_what_comes_after(pool: asyncpg.Pool) -> None:
    writer = IntakeWriter(pool, sender_key=SENDER_KEY, writers=1, max_batch=4)
    writer.start()
    reports = [ReportIn("twilio_sms", f"SMdrain{i}", "Fujo Kisumu", sender=f"+2547000000{i:02d}",
                        received_at=utcnow()) for i in range(30)]
    pending = [asyncio.ensure_future(writer.submit(r)) for r in reports]
    await asyncio.sleep(0)  # every submit has queued its report
    await writer.stop(grace=10)
    results = await asyncio.gather(*pending)
    assert all(r.created for r in results) and len({r.report_id for r in results}) == 30
    assert await pool.fetchval("SELECT count(*) FROM reports WHERE external_id LIKE 'SMdrain%'") == 30
    with pytest.raises(StorageUnavailable, match="shutting down"):
        await writer.submit(ReportIn("twilio_sms", "SMlate", "Fujo", sender="+254700000099", received_at=utcnow()))
