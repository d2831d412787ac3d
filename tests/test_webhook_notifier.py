"""The webhook notifier against an aiohttp receiver on loopback; the README's verification snippets run
against the signed request it received."""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ews.alerting.dispatch import Dispatcher, retry_delay
from ews.core.models import Delivery, DeliveryStatus, Outgoing
from ews.core.settings import Settings
from notifiers.registry import NOTIFIERS
from notifiers.webhook import (
    MAX_RETRY_AFTER,
    WebhookNotifier,
    parse_retry_after,
    parse_secrets,
    sign,
)
from tests.conftest import RESPONDER_PHONES, WEBHOOK_SECRET
from tests.helpers import add_responders, open_alert, plan
from tests.leaks import leaks
from tests.loopback import FakeWebhookReceiver as Receiver
from tests.test_dispatch_invariants import CIPHER, Clock, queue_alerts
from tests.test_end_to_end import RESPONDERS

README = Path(__file__).parent.parent / "README.md"
OTHER_SECRET = "receiver-own-secret-" + "8" * 12


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    fake = Receiver()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def notifier() -> AsyncIterator[WebhookNotifier]:
    sender = WebhookNotifier(secret=WEBHOOK_SECRET, timeout=2.0)
    yield sender
    await sender.close()


def outgoing(url: str, *, explanation: str | None = None, language: str = "en") -> Outgoing:
    """An alert for a partner's webhook; the URL carries a token, as partners' often do."""
    return Outgoing(to=f"{url}/hooks/ews?token=partner-url-token", body="EWS WARNING: Kisumu county. Alert A-12.",
                    recipient_label="Kisumu peace desk #7", language=language,  # type: ignore[arg-type]
                    reference="A-12", channel="webhook", explanation=explanation)


def readme_block(name: str) -> str:
    """The fenced block after `<!-- test: NAME -->` in the README."""
    found = re.search(rf"<!-- test: {name} -->\n```\w+\n(.*?)```", README.read_text(), re.S)
    assert found, f"README has no block marked {name}"
    return found.group(1)


async def test_a_signed_json_post_with_the_message(receiver: Receiver, notifier: WebhookNotifier) -> None:
    outcome = await notifier.send(outgoing(receiver.url, explanation="7 senders in 1 hour against 1.2."))
    assert outcome.status is DeliveryStatus.OK
    headers, body, path = receiver.requests[0]
    assert path == "/hooks/ews?token=partner-url-token"
    assert headers["Content-Type"].startswith("application/json") and headers["X-EWS-Reference"] == "A-12"
    document = json.loads(body)
    assert document == {"version": 1, "reference": "A-12", "language": "en", "recipient": "Kisumu peace desk #7",
                        "text": "EWS WARNING: Kisumu county. Alert A-12.", "sent_at": document["sent_at"],
                        "explanation": "7 senders in 1 hour against 1.2."}
    timestamp = headers["X-EWS-Timestamp"]
    assert abs(datetime.now(UTC).timestamp() - int(timestamp)) < 60
    assert headers["X-EWS-Signature"] == sign(WEBHOOK_SECRET, timestamp, body)


async def test_the_readme_python_snippet_verifies_a_real_request(receiver: Receiver,
                                                                 notifier: WebhookNotifier) -> None:
    await notifier.send(outgoing(receiver.url))
    headers, body, _ = receiver.requests[0]
    scope: dict[str, Any] = {}
    exec(compile(readme_block("webhook-verify-python"), "README.md", "exec"), scope)  # noqa: S102 - our own README
    verify = scope["verify"]
    timestamp, signature = headers["X-EWS-Timestamp"], headers["X-EWS-Signature"]
    assert verify(WEBHOOK_SECRET.encode(), timestamp, body, signature) is True
    assert verify(WEBHOOK_SECRET.encode(), timestamp, body + b" ", signature) is False  # tampered body
    assert verify(b"another key", timestamp, body, signature) is False
    assert verify(WEBHOOK_SECRET.encode(), str(int(timestamp) + 1), body, signature) is False
    stale = str(int(timestamp) - 3600)
    assert verify(WEBHOOK_SECRET.encode(), stale, body, sign(WEBHOOK_SECRET, stale, body)) is False  # replay


@pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("bash") is None, reason="needs openssl, bash")
async def test_the_readme_shell_snippet_verifies_a_real_request(receiver: Receiver, notifier: WebhookNotifier,
                                                                tmp_path: Path) -> None:
    await notifier.send(outgoing(receiver.url, language="sw", explanation="Watu 7 kwa saa 1 — «juu»."))
    headers, body, _ = receiver.requests[0]
    (tmp_path / "body.json").write_bytes(body)
    script = readme_block("webhook-verify-shell")

    def run(signature: str) -> str:
        env = {"PATH": "/usr/bin:/bin", "TS": headers["X-EWS-Timestamp"], "SIG": signature,
               "SECRET": WEBHOOK_SECRET}
        bash = shutil.which("bash")
        assert bash is not None
        # The script is the README's own snippet, run as a partner would paste it.
        done = subprocess.run([bash, "-c", script], cwd=tmp_path, env=env, capture_output=True,  # noqa: S603
                              text=True, timeout=30, check=True)
        return done.stdout.strip()

    assert run(headers["X-EWS-Signature"]) == "valid"
    assert run("0" * 64) == "INVALID"


@pytest.mark.parametrize(("status", "expected"), [
    (200, DeliveryStatus.OK), (202, DeliveryStatus.OK), (204, DeliveryStatus.OK),
    (408, DeliveryStatus.RETRYABLE), (429, DeliveryStatus.RETRYABLE), (500, DeliveryStatus.RETRYABLE),
    (503, DeliveryStatus.RETRYABLE), (400, DeliveryStatus.PERMANENT), (401, DeliveryStatus.PERMANENT),
    (404, DeliveryStatus.PERMANENT), (410, DeliveryStatus.PERMANENT), (302, DeliveryStatus.PERMANENT),
])
async def test_answers_decide_retry_or_dead_letter(receiver: Receiver, notifier: WebhookNotifier, status: int,
                                                   expected: DeliveryStatus) -> None:
    receiver.answers.append((status, {}))
    outcome = await notifier.send(outgoing(receiver.url))
    assert outcome.status is expected and len(receiver.requests) == 1  # a redirect is not followed
    assert "token" not in outcome.reason and "127.0.0.1" not in outcome.reason


async def test_retry_after_is_read_from_seconds_or_a_date(receiver: Receiver, notifier: WebhookNotifier) -> None:
    receiver.answers += [(429, {"Retry-After": "120"}), (503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})]
    first = await notifier.send(outgoing(receiver.url))
    assert first.status is DeliveryStatus.RETRYABLE and first.retry_after == timedelta(seconds=120)
    second = await notifier.send(outgoing(receiver.url))
    assert second.retry_after == timedelta(0)  # a date in the past: no extra wait


def test_retry_after_parsing_is_bounded() -> None:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert parse_retry_after(None, now=now) is None and parse_retry_after("soon", now=now) is None
    assert parse_retry_after("9" * 40, now=now) == MAX_RETRY_AFTER
    assert parse_retry_after("Tue, 01 Dec 2026 10:05:00 GMT", now=now) == timedelta(minutes=5)


async def test_the_dispatcher_waits_as_long_as_retry_after_asks(pool: asyncpg.Pool) -> None:
    class AsksToWait:
        kind = "asks_to_wait"
        channels = ("sms",)

        async def send(self, message: Outgoing) -> Delivery:
            return Delivery(DeliveryStatus.RETRYABLE, reason="http 429", retry_after=timedelta(minutes=7))

        def secrets(self) -> tuple[str, ...]:
            return ()

        async def close(self) -> None:
            return None

    await add_responders(pool, RESPONDERS)
    await queue_alerts(pool, 42, 1)
    clock = Clock()
    dispatcher = Dispatcher(pool, [AsksToWait()], CIPHER, retry_for=timedelta(minutes=30), send_timeout=5,
                            clock=clock)
    assert await dispatcher.drain() >= 1
    rows = await pool.fetch("SELECT status, next_attempt_at FROM deliveries")
    assert rows and all(r["status"] == "pending" for r in rows)
    assert all(r["next_attempt_at"] == clock.now + timedelta(minutes=7) for r in rows)
    assert retry_delay(1) < timedelta(minutes=7)  # so the wait seen is Retry-After's, not the backoff


async def test_a_receiver_that_is_down_or_silent_is_retryable(notifier: WebhookNotifier) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert (await notifier.send(outgoing(f"http://127.0.0.1:{port}"))).status is DeliveryStatus.RETRYABLE
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        quick = WebhookNotifier(secret=WEBHOOK_SECRET, timeout=0.5)
        outcome = await quick.send(outgoing(f"http://127.0.0.1:{silent.getsockname()[1]}"))
        await quick.close()
    finally:
        silent.close()
    assert outcome.status is DeliveryStatus.RETRYABLE


async def test_a_receiver_with_its_own_secret_is_signed_with_it(receiver: Receiver) -> None:
    sender = WebhookNotifier(secret=WEBHOOK_SECRET, secrets_by_origin={receiver.url + "/": OTHER_SECRET})
    try:
        await sender.send(outgoing(receiver.url))
    finally:
        await sender.close()
    headers, body, _ = receiver.requests[0]
    assert headers["X-EWS-Signature"] == sign(OTHER_SECRET, headers["X-EWS-Timestamp"], body)
    assert set(sender.secrets()) == {WEBHOOK_SECRET, OTHER_SECRET}
    assert WEBHOOK_SECRET not in repr(sender) and OTHER_SECRET not in repr(sender)


async def test_without_any_secret_nothing_is_sent_unsigned(receiver: Receiver) -> None:
    sender = WebhookNotifier(secrets_by_origin={"https://someone-else.example.org": OTHER_SECRET})
    outcome = await sender.send(outgoing(receiver.url))
    await sender.close()
    assert outcome.status is DeliveryStatus.PERMANENT and receiver.requests == []


async def test_no_url_token_phone_or_secret_in_logs(receiver: Receiver, notifier: WebhookNotifier,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.answers += [(503, {}), (400, {})]
    message = outgoing(receiver.url)
    message = Outgoing(to=message.to, body=message.body + f" Caller {RESPONDER_PHONES[1]}.",
                       recipient_label=message.recipient_label, language="en", reference="A-12", channel="webhook")
    reasons = [(await notifier.send(message)).reason for _ in range(3)]
    logged = "\n".join(record.getMessage() for record in caplog.records) + "\n".join(reasons)
    assert leaks(logged) == [] and "partner-url-token" not in logged


def test_settings_build_it_and_name_what_is_missing() -> None:
    with pytest.raises(ValueError, match="EWS_WEBHOOK_SECRET"):
        NOTIFIERS.build("webhook", Settings(notifiers="webhook"))
    with pytest.raises(ValueError, match="ORIGIN=SECRET"):
        parse_secrets("not a pair")
    pairs = f"https://A.example.org=s1,https://b.example.org:8443={OTHER_SECRET}"
    settings = Settings.from_env({"EWS_WEBHOOK_SECRETS": pairs})
    built = NOTIFIERS.build("webhook", settings)
    assert isinstance(built, WebhookNotifier)
    assert built.secret_for("https://a.example.org/x?y=1") == "s1"
    assert built.secret_for("https://b.example.org:8443/hook") == OTHER_SECRET
    assert built.secret_for("https://b.example.org/hook") is None  # another port is another origin
    assert OTHER_SECRET in settings.secrets() and OTHER_SECRET not in repr(settings)


async def test_an_alert_reaches_a_partner_webhook_through_the_outbox(pool: asyncpg.Pool, receiver: Receiver,
                                                                    notifier: WebhookNotifier) -> None:
    await add_responders(pool, "name,phone,county,role,language,webhook\n"
                               f"Kisumu peace desk,{RESPONDER_PHONES[1]},Kisumu,mediator,en,"
                               f"{receiver.url}/hooks/ews?token=partner-url-token\n")
    await open_alert(pool, level=3, why=("9 reports of incidents in 1 h", "ripoti 9 za matukio ndani ya saa 1"))
    await plan(pool)
    dispatcher = Dispatcher(pool, [notifier], CIPHER, retry_for=timedelta(minutes=5), send_timeout=5)
    assert await dispatcher.drain() == 1
    assert await pool.fetchval("SELECT status FROM deliveries WHERE channel = 'webhook'") == "sent"
    headers, body, path = receiver.requests[0]
    document = json.loads(body)
    assert path == "/hooks/ews?token=partner-url-token" and document["reference"] == "A-1"
    assert document["text"].startswith("EWS ALERT: Kisumu county.") and document["language"] == "en"
    assert headers["X-EWS-Signature"] == sign(WEBHOOK_SECRET, headers["X-EWS-Timestamp"], body)
