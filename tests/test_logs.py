"""What reaches the log: phone numbers scrubbed from messages, arguments and tracebacks; tracebacks from
failing background passes; one WARNING line for a malformed request."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Iterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from ews.core.clock import utcnow
from ews.core.logs import configure_logging
from ews.core.models import IntakeResult, ReportIn
from ews.core.privacy import REDACTED
from ews.core.worker import WakeableWorker
from ews.intake.writer import IntakeWriter
from tests.conftest import SENDER_KEY

# Numbers of nobody in the suite, so the suite's own leak guard does not see them in the raw records.
PHONE = "+254799111222"
WRITTEN = ("+254799111222", "254799111222", "0799111222", "0799 111 222", "799111222")
SECRET = "log-test-secret-" + "7" * 16

_QUIETED = ("ews.twilio_http", "twilio", "apscheduler", "pgserver")


def phone_in(text: str) -> list[str]:
    """The spellings of PHONE found in `text`, and its digits with separators removed."""
    found = [form for form in WRITTEN if form in text]
    if "799111222" in re.sub(r"\D", "", text):
        found.append("digits")
    return found


class Output:
    """What the service's log handler wrote, read piece by piece."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self._read = 0

    def read(self) -> str:
        """Everything written since the last read."""
        text = self.stream.getvalue()[self._read:]
        self._read += len(text)
        return text


@pytest.fixture
def service_logging() -> Iterator[Output]:
    """Logging as `ews serve` sets it up, writing to a buffer; pytest's own handlers come back after."""
    root = logging.getLogger()
    before, level, raise_exceptions = list(root.handlers), root.level, logging.raiseExceptions
    server = logging.getLogger("aiohttp.server")
    server_filters = list(server.filters)
    levels = {name: logging.getLogger(name).level for name in _QUIETED}
    configure_logging("DEBUG", [SECRET])
    configured = root.handlers[0]
    assert isinstance(configured, logging.StreamHandler)
    output = Output()
    configured.setStream(output.stream)  # type: ignore[arg-type]
    yield output
    current = [h for h in root.handlers if h is not configured]
    root.handlers[:] = current + [h for h in before if h not in current]
    root.setLevel(level)
    logging.raiseExceptions = raise_exceptions
    server.filters[:] = server_filters
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_a_phone_number_in_message_args_or_traceback_never_reaches_the_log(
        service_logging: Output) -> None:
    log = logging.getLogger("ews.test")
    log.info("call %s now", PHONE)
    log.warning("reporter wrote 0799 111 222 and token " + SECRET)
    try:
        raise ValueError(f"responder {PHONE} unreachable")
    except ValueError:
        log.exception("send failed")
    # A stack as logging prints it, with a number in a source line.
    record = log.makeRecord("ews.test", logging.ERROR, __file__, 1, "with stack", None, None,
                            sinfo=f'Stack (most recent call last):\n  File "x.py", line 1\n    notify("{PHONE}")')
    logging.getLogger().handlers[0].handle(record)
    err = service_logging.read()
    assert "call " in err and "send failed" in err and "Traceback" in err and "ValueError" in err
    assert "Stack (most recent call last)" in err
    assert err.count(REDACTED) == 4  # message, argument, exception, stack
    assert phone_in(err) == []
    assert SECRET not in err


class _FailingPass(WakeableWorker):
    name = "failing"

    def __init__(self) -> None:
        super().__init__()
        self.tried = asyncio.Event()

    async def work(self) -> None:
        self.tried.set()
        raise ValueError(f"responder {PHONE} unreachable")


async def test_a_failing_worker_pass_logs_a_redacted_traceback(service_logging: Output) -> None:
    worker = _FailingPass()
    worker.start()
    try:
        worker.wake()
        await asyncio.wait_for(worker.tried.wait(), 5)
        await asyncio.sleep(0)
    finally:
        await worker.stop()
    err = service_logging.read()
    assert "failing pass failed" in err
    assert "Traceback (most recent call last)" in err and "ValueError: responder" in err
    assert phone_in(err) == []


async def test_an_unexpected_intake_failure_logs_a_redacted_traceback(
        pool: asyncpg.Pool, service_logging: Output) -> None:
    def committed(_results: object) -> None:
        raise RuntimeError(f"listener for {PHONE} broke")

    writer = IntakeWriter(pool, sender_key=SENDER_KEY, on_committed=committed)
    writer.start()
    try:
        result = await writer.submit(ReportIn("twilio_sms", "SMlogtest", "Fujo Kisumu", sender=PHONE,
                                              received_at=utcnow()))
        assert isinstance(result, IntakeResult)
        err = ""
        for _ in range(100):
            err += service_logging.read()
            if "Traceback" in err:
                break
            await asyncio.sleep(0.02)
    finally:
        await writer.stop()
    assert "intake batch failed unexpectedly" in err
    assert "RuntimeError: listener for" in err
    assert phone_in(err) == []


async def test_an_oversized_header_is_one_warning_line_without_a_traceback(
        client: TestClient, service_logging: Output) -> None:
    service_logging.read()  # start-up lines
    for _ in range(3):
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: ews\r\nX-Flood: " + b"a" * 16384 + b"\r\n\r\n")
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        await writer.wait_closed()
        assert re.match(rb"HTTP/1\.[01] 4\d\d ", status_line), status_line
    await asyncio.sleep(0.05)
    lines = [line for line in service_logging.read().splitlines() if "aiohttp.server" in line]
    assert len(lines) == 3, lines
    assert all(" WARNING aiohttp.server malformed request refused: " in line for line in lines), lines
    assert "Traceback" not in "\n".join(lines)
