"""The console notifier names the recipient and never prints their number, in any form."""

from __future__ import annotations

import re

import pytest

from ews.core.models import DeliveryStatus, Outgoing
from notifiers.console import ConsoleNotifier

PHONE = "+254798765432"  # nobody in the suite: the suite's leak guard must not trip over this test's own input


async def test_a_printed_alert_names_the_recipient_but_not_the_number(capsys: pytest.CaptureFixture[str]) -> None:
    notifier = ConsoleNotifier()  # the default: stdout, as `make run` prints alerts
    message = Outgoing(to=PHONE, body="EWS WATCH: Kisumu County. 3 reports. Reply ACK 1.",
                       recipient_label="Achieng Otieno #1", language="en", reference="A-1")
    delivery = await notifier.send(message)
    out = capsys.readouterr().out
    assert delivery.status is DeliveryStatus.OK
    assert "Achieng Otieno #1" in out and "EWS WATCH: Kisumu County" in out
    for form in (PHONE, PHONE[1:], "0" + PHONE[4:], PHONE[4:], "0798 765 432", "798 765 432"):
        assert form not in out
    assert "798765432" not in re.sub(r"\D", "", out)
    assert PHONE not in repr(message)  # what a log line or a traceback would show of the message
