"""The email notifier against a real SMTP server (aiosmtpd) on loopback, through the real client (aiosmtplib)."""

from __future__ import annotations

import email
import logging
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import Message

import asyncpg
import pytest

from ews.alerting.dispatch import Dispatcher
from ews.core.models import DeliveryStatus, Outgoing
from ews.core.privacy import ContactCipher
from ews.core.settings import Settings
from notifiers.email import EmailNotifier, text
from notifiers.registry import NOTIFIERS
from tests.conftest import CONTACT_KEY, RESPONDER_PHONES, SMTP_PASSWORD
from tests.helpers import add_responders, open_alert, plan
from tests.leaks import leaks
from tests.loopback import FakeSmtpServer

ADDRESS = "amina.otieno@csic-kisumu.example.org"
SENDER = "alerts@ews.example.org"
SMS_EN = ("EWS WARNING: Kisumu county. 7 people reported incidents in the last 1 hour (threshold 6). "
          "Alert A-12. Reply ACK 12 to acknowledge.")
SMS_SW = ("EWS ONYO: Kaunti ya Kisumu. Watu 7 wameripoti matukio katika saa 1 zilizopita (kiwango 6). "
          "Tahadhari A-12. Jibu NDIO 12 kuthibitisha.")


def outgoing(body: str = SMS_EN, *, language: str = "en", explanation: str | None = None) -> Outgoing:
    """An alert email to one responder."""
    return Outgoing(to=ADDRESS, body=body, recipient_label="Amina #2", language=language,  # type: ignore[arg-type]
                    reference="A-12", channel="email", explanation=explanation)


@pytest.fixture
async def smtp() -> AsyncIterator[FakeSmtpServer]:
    server = FakeSmtpServer()
    await server.start()
    yield server
    await server.stop()


def notifier(port: int, **kwargs: object) -> EmailNotifier:
    """A notifier for the loopback server (plain SMTP: there is no certificate on loopback)."""
    return EmailNotifier(host="127.0.0.1", port=port, sender=SENDER, security="none", timeout=5.0,
                         **kwargs)  # type: ignore[arg-type]


def received(server: FakeSmtpServer) -> Message:
    """The one message the server accepted, parsed."""
    assert len(server.messages) == 1
    return email.message_from_bytes(server.messages[0].original_content)


async def test_an_alert_email_carries_the_sms_the_explanation_and_the_reference(smtp: FakeSmtpServer) -> None:
    why = "7 distinct senders in 1 hour against a usual 1.2 (EARS C2 4.1 > 3)."
    outcome = await notifier(smtp.port).send(outgoing(explanation=why))
    assert outcome.status is DeliveryStatus.OK and outcome.provider_id
    envelope = smtp.messages[0]
    assert envelope.mail_from == SENDER and envelope.rcpt_tos == [ADDRESS]
    message = received(smtp)
    assert message["Subject"] == "EWS WARNING: Kisumu county (A-12)"
    assert message["To"] == ADDRESS and message["Content-Language"] == "en"
    assert message.get_content_type() == "text/plain"
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert SMS_EN in body and f"Why: {why}" in body and "Reference A-12" in body


async def test_a_swahili_recipient_gets_swahili_throughout(smtp: FakeSmtpServer) -> None:
    outcome = await notifier(smtp.port).send(outgoing(SMS_SW, language="sw", explanation="Watu 7 kwa saa 1."))
    assert outcome.status is DeliveryStatus.OK
    message = received(smtp)
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert message["Subject"] == "EWS ONYO: Kaunti ya Kisumu (A-12)"
    assert SMS_SW in body and "Sababu: Watu 7 kwa saa 1." in body and "Kumbukumbu A-12" in body
    assert "Why" not in body and "Reference" not in body


def test_without_an_explanation_there_is_no_why_line() -> None:
    assert "Why" not in text(outgoing()) and "Sababu" not in text(outgoing(SMS_SW, language="sw"))


@pytest.mark.parametrize(("answer", "expected"), [
    ("450 4.2.1 Mailbox busy, try later", DeliveryStatus.RETRYABLE),
    ("452 4.3.1 Insufficient system storage", DeliveryStatus.RETRYABLE),
    ("550 5.1.1 Mailbox unavailable", DeliveryStatus.PERMANENT),
    ("553 5.1.3 Bad destination mailbox address syntax", DeliveryStatus.PERMANENT),
])
async def test_smtp_reply_codes_decide_retry_or_dead_letter(smtp: FakeSmtpServer, answer: str,
                                                            expected: DeliveryStatus) -> None:
    smtp.rcpt_answers.append(answer)
    outcome = await notifier(smtp.port).send(outgoing())
    assert outcome.status is expected and answer[:3] in outcome.reason
    assert ADDRESS not in outcome.reason and "Mailbox" not in outcome.reason  # the server's text may quote it
    assert smtp.messages == []


async def test_a_server_that_is_down_is_retryable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = await notifier(port).send(outgoing())
    assert outcome.status is DeliveryStatus.RETRYABLE


async def test_a_server_that_never_answers_is_retryable_within_the_deadline() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts the connection, never says 220
    try:
        outcome = await EmailNotifier(host="127.0.0.1", port=silent.getsockname()[1], sender=SENDER,
                                      security="none", timeout=0.5).send(outgoing())
    finally:
        silent.close()
    assert outcome.status is DeliveryStatus.RETRYABLE


async def test_starttls_refused_when_the_server_cannot_upgrade(smtp: FakeSmtpServer) -> None:
    # Never fall back to sending in clear: a server without STARTTLS is a configuration to fix.
    outcome = await EmailNotifier(host="127.0.0.1", port=smtp.port, sender=SENDER).send(outgoing())
    assert outcome.status is DeliveryStatus.PERMANENT and smtp.messages == []


async def test_login_then_send_and_the_password_stays_hidden(caplog: pytest.LogCaptureFixture) -> None:
    server = FakeSmtpServer(login=("ews", SMTP_PASSWORD))
    await server.start()
    try:
        caplog.set_level(logging.DEBUG)
        good = notifier(server.port, username="ews", password=SMTP_PASSWORD)
        assert (await good.send(outgoing())).status is DeliveryStatus.OK
        bad = notifier(server.port, username="ews", password="wrong")
        assert (await bad.send(outgoing())).status is DeliveryStatus.PERMANENT  # 535: fix the password
        assert SMTP_PASSWORD not in repr(good) and good.secrets() == (SMTP_PASSWORD,)
        assert len(server.messages) == 1
    finally:
        await server.stop()


async def test_no_phone_number_address_or_secret_reaches_the_logs(smtp: FakeSmtpServer,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # A body that quotes a number (a report's text can): it goes to the recipient, never to a log line.
    body = SMS_EN + f" Caller {RESPONDER_PHONES[0]}."
    for answer in ("250 OK", "450 4.2.1 busy", "550 5.1.1 unavailable"):
        smtp.rcpt_answers.append(answer)
        outcome = await notifier(smtp.port, username=None).send(outgoing(body))
        assert leaks(outcome.reason) == [] and ADDRESS not in outcome.reason
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert leaks(logged) == [] and ADDRESS not in logged


def test_the_registry_builds_it_from_settings_and_names_what_is_missing() -> None:
    with pytest.raises(ValueError, match="EWS_SMTP_HOST, EWS_SMTP_FROM"):
        NOTIFIERS.build("email", Settings(notifiers="email"))
    with pytest.raises(ValueError, match="EWS_SMTP_SECURITY"):
        NOTIFIERS.build("email", Settings(smtp_host="mail", smtp_from=SENDER, smtp_security="ssl3"))
    built = NOTIFIERS.build("email", Settings.from_env({
        "EWS_SMTP_HOST": "mail.example.org", "EWS_SMTP_PORT": "465", "EWS_SMTP_SECURITY": "tls",
        "EWS_SMTP_USER": "ews", "EWS_SMTP_PASSWORD": SMTP_PASSWORD, "EWS_SMTP_FROM": SENDER}))
    assert isinstance(built, EmailNotifier) and built.secrets() == (SMTP_PASSWORD,)
    assert SMTP_PASSWORD not in repr(built)
    assert SMTP_PASSWORD not in repr(Settings(smtp_password=SMTP_PASSWORD))


async def test_an_alert_reaches_a_responder_email_through_the_outbox(pool: asyncpg.Pool,
                                                                     smtp: FakeSmtpServer) -> None:
    # The whole path: a responder with an email contact, an alert in the outbox, expansion, the dispatcher.
    await add_responders(pool, "name,phone,county,role,language,email\n"
                               f"Achieng (CSIC Kisumu),{RESPONDER_PHONES[0]},Kisumu,csic,sw,{ADDRESS}\n")
    await open_alert(pool, level=2, why=("7 reports of violence in 24 h; usual 1-2",
                                         "ripoti 7 za vurugu ndani ya saa 24; kawaida 1-2"))
    await plan(pool)
    email_notifier = notifier(smtp.port)
    dispatcher = Dispatcher(pool, [email_notifier], ContactCipher(CONTACT_KEY), retry_for=timedelta(minutes=5),
                            send_timeout=5)
    assert await dispatcher.drain() == 1
    assert await pool.fetchval("SELECT status FROM deliveries WHERE channel = 'email'") == "sent"
    message = received(smtp)
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert smtp.messages[0].rcpt_tos == [ADDRESS] and message["Content-Language"] == "sw"
    assert body.startswith("EWS ONYO: Kaunti ya Kisumu.") and "Jibu NDIO 1 kwa SMS" in body
