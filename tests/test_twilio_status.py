"""Twilio status callbacks: signed, forward only, permanent failures dead-lettered; hostile input gets a 4xx."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ews.cli.simulate import sign
from ews.core.models import DeliveryStatus, Outgoing
from ews.core.settings import Settings
from ews.web.appkeys import DISPATCHER
from ingest.base import Rejected
from ingest.twilio_sms import TwilioSms
from ingest.twilio_status import STATUS_RANKS, parse_status
from notifiers.registry import NOTIFIERS
from notifiers.twilio_sms import STATUS_CALLBACK_PATH, TwilioSmsNotifier, classify_error
from tests.conftest import PUBLIC_URL, RESPONDER_PHONES, TEST_ROUTES, TWILIO_TOKEN
from tests.helpers import add_responders, eventually
from tests.loopback import FakeTwilioApi
from tests.test_dispatch_invariants import queue_alerts
from tests.test_end_to_end import RESPONDERS

STATUS = "/ingest/twilio/status"


async def post_status(client: TestClient, form: dict[str, str], *, token: str = TWILIO_TOKEN) -> int:
    """POST a status callback signed (with `token`) over the public URL; the status code."""
    response = await client.post(STATUS, data=form, headers=sign(token, PUBLIC_URL + STATUS, form))
    await response.read()
    return response.status


def callback(sid: str, status: str, *, error: str | None = None, to: str = RESPONDER_PHONES[0]) -> dict[str, str]:
    """The form Twilio posts to a StatusCallback."""
    form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": "AC" + "1" * 32, "From": "+15005550006", "To": to, "ApiVersion": "2010-04-01"}
    if error is not None:
        form["ErrorCode"] = error
    return form


async def sent_alert(client: TestClient, pool: asyncpg.Pool) -> tuple[int, str]:
    """One alert SMS sent through the loopback Twilio; (delivery id, Twilio's MessageSid)."""
    await add_responders(pool, RESPONDERS)
    # Kisumu: its CSIC member and the national situation room, routed as the app routes (its planner runs too)
    await queue_alerts(pool, 42, 1, TEST_ROUTES)
    await client.server.app[DISPATCHER].drain()
    await eventually(lambda: settled(pool))  # the app's own dispatcher pass may hold one of them
    row = await pool.fetchrow("SELECT id, status, provider_id FROM deliveries ORDER BY id LIMIT 1")
    assert row["status"] == "sent" and row["provider_id"].startswith("SM")
    return row["id"], row["provider_id"]


async def settled(pool: asyncpg.Pool) -> bool:
    """Every outbox row expanded into deliveries, and none of them waiting or being sent (the app's own
    dispatcher pass may be expanding a row while the test's drain finds it locked and returns)."""
    unexpanded = await pool.fetchval("SELECT count(*) FROM outbox WHERE expanded_at IS NULL")
    busy = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')")
    return unexpanded == 0 and busy == 0 and bool(await pool.fetchval("SELECT count(*) FROM deliveries"))


async def state(pool: asyncpg.Pool, delivery_id: int) -> tuple[str, str | None, str | None]:
    """(status, provider_status, provider_reason) of a delivery."""
    row = await pool.fetchrow("SELECT status, provider_status, provider_reason FROM deliveries WHERE id = $1",
                              delivery_id)
    return row["status"], row["provider_status"], row["provider_reason"]


async def test_the_send_asks_for_status_callbacks_at_the_public_url(
        client: TestClient, pool: asyncpg.Pool, fake_twilio: FakeTwilioApi) -> None:
    await sent_alert(client, pool)
    assert fake_twilio.messages[0].form["StatusCallback"] == PUBLIC_URL + "/ingest/twilio/status"
    assert TwilioSms.status_path == STATUS_CALLBACK_PATH == STATUS


async def test_without_a_public_url_no_status_callback_is_asked(settings: Settings,
                                                                fake_twilio: FakeTwilioApi) -> None:
    notifier = NOTIFIERS.build("twilio_sms", settings.replace(public_url=None))
    assert isinstance(notifier, TwilioSmsNotifier)
    try:
        await notifier.send(Outgoing(to=RESPONDER_PHONES[0], body="EWS test", recipient_label="x #1",
                                     language="en", reference="A-1"))
    finally:
        await notifier.close()
    assert "StatusCallback" not in fake_twilio.messages[0].form


async def test_statuses_move_a_delivery_forward_only(client: TestClient, pool: asyncpg.Pool) -> None:
    delivery, sid = await sent_alert(client, pool)
    assert await post_status(client, callback(sid, "sent")) == 200
    assert await state(pool, delivery) == ("sent", "sent", None)
    assert await post_status(client, callback(sid, "delivered")) == 200
    for late in ("sent", "queued", "sending", "failed", "undelivered"):  # late or out of order: no change
        assert await post_status(client, callback(sid, late, error="30003")) == 200
        assert await state(pool, delivery) == ("sent", "delivered", None), late
    assert await post_status(client, callback(sid, "read")) == 200  # WhatsApp's read comes after delivered
    told = await pool.fetch("SELECT detail->>'status' AS status FROM audit_log WHERE action = 'delivery.status' "
                            "AND subject = $1 ORDER BY id", f"delivery:{delivery}")
    assert [t["status"] for t in told] == ["sent", "delivered", "read"], "each step forward is an audit row"
    assert (await state(pool, delivery))[1] == "read"


@pytest.mark.parametrize("code", ["21211", "21610", "21614", "30005", "30006"])
@pytest.mark.parametrize("status", ["failed", "undelivered"])
async def test_a_permanent_error_code_dead_letters_the_delivery(client: TestClient, pool: asyncpg.Pool,
                                                               code: str, status: str) -> None:
    delivery, sid = await sent_alert(client, pool)
    assert await post_status(client, callback(sid, status, error=code)) == 200
    dead, provider_status, reason = await state(pool, delivery)
    assert (dead, provider_status) == ("dead", status) and reason and reason.startswith(code)
    assert code in await pool.fetchval("SELECT last_error FROM deliveries WHERE id = $1", delivery)
    assert await pool.fetchval("SELECT count(*) FROM opt_outs") == (1 if code == "21610" else 0)


async def test_a_transient_failure_is_recorded_but_not_dead_lettered(client: TestClient, pool: asyncpg.Pool) -> None:
    delivery, sid = await sent_alert(client, pool)
    assert await post_status(client, callback(sid, "undelivered", error="30003")) == 200
    assert await state(pool, delivery) == ("sent", "undelivered", "30003")


async def test_a_forged_callback_is_refused_and_changes_nothing(client: TestClient, pool: asyncpg.Pool) -> None:
    delivery, sid = await sent_alert(client, pool)
    assert await post_status(client, callback(sid, "failed", error="21211"), token="not-the-token") == 403
    response = await client.post(STATUS, data=callback(sid, "failed", error="21211"))  # unsigned
    assert response.status == 403
    assert await state(pool, delivery) == ("sent", None, None)
    assert await pool.fetchval("SELECT count(*) FROM opt_outs") == 0


async def test_an_unknown_message_sid_is_answered_and_changes_nothing(client: TestClient, pool: asyncpg.Pool) -> None:
    delivery, _sid = await sent_alert(client, pool)
    assert await post_status(client, callback("SM" + "0" * 32, "failed", error="21211")) == 200
    assert await state(pool, delivery) == ("sent", None, None)


HOSTILE: list[tuple[str, dict[str, str] | bytes, int]] = [
    ("no MessageSid", {"MessageStatus": "delivered"}, 400),
    ("no MessageStatus", {"MessageSid": "SM" + "a" * 32}, 400),
    ("empty status", {"MessageSid": "SM" + "a" * 32, "MessageStatus": " "}, 400),
    ("unknown status", {"MessageSid": "SM" + "a" * 32, "MessageStatus": "exploded"}, 400),
    ("inbound status", {"MessageSid": "SM" + "a" * 32, "MessageStatus": "received"}, 400),
    ("ErrorCode not a number", {"MessageSid": "SM" + "a" * 32, "MessageStatus": "failed", "ErrorCode": "x1"}, 400),
    ("sid with a space", {"MessageSid": "SM a", "MessageStatus": "sent"}, 400),
    ("sid too long", {"MessageSid": "SM" + "a" * 200, "MessageStatus": "sent"}, 400),
    ("control character", {"MessageSid": "SM\x07", "MessageStatus": "sent"}, 400),
    ("invalid UTF-8", b"MessageSid=SM1&MessageStatus=%FF%FE", 400),
    ("10 MB body", b"MessageSid=SM1&MessageStatus=sent&Pad=" + b"a" * (10 * 1024 * 1024), 413),
]


@pytest.mark.parametrize(("case", "body", "expected"), HOSTILE, ids=[case for case, _, _ in HOSTILE])
async def test_hostile_callbacks_get_a_clear_4xx(client: TestClient, pool: asyncpg.Pool, case: str,
                                                 body: dict[str, str] | bytes, expected: int) -> None:
    if isinstance(body, dict):
        status = await post_status(client, body)
    else:
        response = await client.post(STATUS, data=body,
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "X-Twilio-Signature": "irrelevant"})
        await response.read()
        status = response.status
    assert status == expected, case


async def test_a_wrong_content_type_is_415(client: TestClient) -> None:
    response = await client.post(STATUS, json={"MessageSid": "SM1", "MessageStatus": "sent"})
    assert response.status == 415


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["MessageSid", "MessageStatus", "ErrorCode", "To", "SmsSid", "Other"]),
                       st.one_of(st.sampled_from([*STATUS_RANKS, "21610", "21211", "30003", "SM" + "b" * 32]),
                                 st.text(max_size=80))))
def test_the_parser_returns_a_report_or_a_400_never_anything_else(form: dict[str, str]) -> None:
    try:
        report = parse_status(form)
    except Rejected as exc:
        assert exc.status == 400 and exc.reason
        return
    assert report.status in STATUS_RANKS and report.rank == STATUS_RANKS[report.status]
    assert report.channel == "twilio_sms" and report.provider_id == form["MessageSid"].strip()
    assert report.permanent <= (report.status in ("failed", "undelivered"))  # only a failure is permanent
    assert report.opted_out <= report.permanent


@pytest.mark.parametrize(("status", "code", "expected"), [
    (400, 21211, DeliveryStatus.PERMANENT), (400, 21610, DeliveryStatus.PERMANENT),
    (400, 21614, DeliveryStatus.PERMANENT), (500, 21211, DeliveryStatus.PERMANENT),
    (400, 21604, DeliveryStatus.PERMANENT), (401, 20003, DeliveryStatus.PERMANENT),
    (429, 20429, DeliveryStatus.RETRYABLE), (503, None, DeliveryStatus.RETRYABLE),
    (400, 30003, DeliveryStatus.RETRYABLE),
])
def test_send_time_errors_are_classified_by_code_first(status: int, code: int | None,
                                                       expected: DeliveryStatus) -> None:
    assert classify_error(status, code) is expected


async def test_a_21614_answer_at_send_time_is_a_dead_letter(client: TestClient, pool: asyncpg.Pool,
                                                            fake_twilio: FakeTwilioApi) -> None:
    fake_twilio.failures = [(400, 21614)]  # the first of the alert's two messages
    await add_responders(pool, RESPONDERS)
    await queue_alerts(pool, 42, 1, TEST_ROUTES)
    await client.server.app[DISPATCHER].drain()
    await eventually(lambda: settled(pool))
    rows = await pool.fetch("SELECT status, last_error FROM deliveries ORDER BY status")
    assert [r["status"] for r in rows] == ["dead", "sent"] and "21614" in rows[0]["last_error"]
