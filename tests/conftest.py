"""Fixtures: a real PostgreSQL (EWS_TEST_DATABASE_URL or embedded), the app on a real socket, fake Twilio."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import hypothesis
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ews.cli.embedded import EmbeddedPostgres
from ews.core.privacy import ContactCipher
from ews.core.settings import Settings
from ews.db.migrate import apply_migrations
from ews.db.pool import create_pool
from ews.web.app import create_app
from tests.loopback import FakeAfricasTalkingApi, FakeTwilioApi


def _dump_tasks(_signum: int, _frame: object) -> None:
    """On SIGUSR1, write every asyncio task's stack to a file: a hung test can be seen from outside
    (`kill -USR1 PID`, then read /tmp/ews-tasks-PID.txt); pytest would hold back anything written to stderr."""
    with open(f"/tmp/ews-tasks-{os.getpid()}.txt", "a", encoding="utf-8") as out:
        try:
            tasks = asyncio.all_tasks(asyncio.get_running_loop())
        except RuntimeError:
            out.write("no running event loop\n")
            return
        for task in tasks:
            out.write(f"--- {task!r}\n")
            task.print_stack(file=out)


signal.signal(signal.SIGUSR1, _dump_tasks)


# The property tests check what parsers do, not how fast: on a loaded CI machine an example may take longer
# than hypothesis's 200 ms deadline, which would fail a correct parser at random.
hypothesis.settings.register_profile("ews", deadline=None,
                                     suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.load_profile("ews")

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "test-auth-token-" + "9" * 16
TWILIO_FROM = "+15005550006"
PUBLIC_URL = "https://ews.example.org"
SENDER_KEY = "test-sender-key-" + "4" * 32
CONTACT_KEY = ContactCipher.new_key()
AT_TOKEN = "test-at-callback-token-" + "7" * 16
AT_USERNAME = "ews-test"
AT_API_KEY = "test-at-api-key-" + "3" * 24
SMTP_PASSWORD = "test-smtp-password-" + "5" * 16
WEBHOOK_SECRET = "test-webhook-secret-" + "6" * 16

# Every phone number the suite uses; the privacy tests look for each of them everywhere.
REPORTER_PHONES = ("+254712345678", "+254722000111", "+254733444555", "+254711222333", "+254745678901",
                   "+254790123456", "+254110987654", "+254768001002")
RESPONDER_PHONES = ("+254700111222", "+254700333444", "+254700555666")

TEST_RULES = """
version = "test-1"
# A county rises with every report of any type in the running hour: 2 -> WATCH, 4 -> WARNING, 6 -> ALERT.
[[rule]]
name = "reports_1h"
detector = "window_count"
groups = ["all"]
period = "hour"
hold_for = 0
keep_for = 0
[rule.params]
window = 1
threshold = 2
[rule.levels]
watch = 2
warning = 4
alert = 6
"""

# Every alert to every responder of its county and to the national ones, on every channel, at once: the
# tests of the engine and the notifiers see one message per change; routing has its own tests.
TEST_ROUTES = """
# Tests: every alert to every responder of its county and to the national ones, on every channel, at once.
[[receiver]]
name = "county-sms"
channel = "sms"
[[receiver]]
name = "county-email"
channel = "email"
[[receiver]]
name = "county-webhook"
channel = "webhook"
[[receiver]]
name = "national-sms"
county = "national"
channel = "sms"
[[receiver]]
name = "national-email"
county = "national"
channel = "email"
[[receiver]]
name = "national-webhook"
county = "national"
channel = "webhook"

[route]
receiver = "county-sms"
group_wait = "0s"
group_interval = "0s"
repeat_interval = "24h"

[[route.routes]]
receiver = "county-sms"
continue = true
[[route.routes]]
receiver = "county-email"
continue = true
[[route.routes]]
receiver = "county-webhook"
continue = true
[[route.routes]]
receiver = "national-sms"
continue = true
[[route.routes]]
receiver = "national-email"
continue = true
[[route.routes]]
receiver = "national-webhook"
continue = true
"""

_TRUNCATE = """
TRUNCATE reports, responders, engine_states, alerts, level_transitions, outbox, deliveries, audit_log,
         responder_contacts, reporter_contacts, inbound_commands, opt_outs, place_corrections, place_questions,
         partner_tokens, partner_requests, monitors, incidents, report_corrections, series_units, series_cells,
         series_pending, rules_versions, notification_log, alert_escalations, silences, routes_versions
RESTART IDENTITY CASCADE
"""


def pytest_configure(config: pytest.Config) -> None:
    """Let every log record through to pytest's capture, so the leak guard below sees DEBUG lines too."""
    logging.getLogger().setLevel(logging.DEBUG)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Fail a test whose log records, stdout or stderr hold one of the suite's phone numbers or secrets.

    Each test is judged by what it produced itself (pytest's captured sections), so the guard does not
    depend on which test runs first or last.
    """
    report: pytest.TestReport = yield
    from tests.leaks import leaks  # imports this module's numbers, so not at the top

    phases = ("setup", "call") if report.when == "call" else (report.when,)
    captured = "\n".join(text for name, text in report.sections
                         if name.startswith("Captured ") and name.endswith(phases))
    found = leaks(captured)
    if found and report.when != "setup" and not report.failed:
        report.outcome = "failed"
        report.longrepr = f"phone numbers or secrets in this test's logs or output: {sorted(set(found))}"
    return report


def with_database(url: str, name: str) -> str:
    """The same server URL with another database name."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server: EWS_TEST_DATABASE_URL, else an embedded one for the session."""
    configured = os.environ.get("EWS_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="ews-test-pg-") as tmp:
        os.chmod(tmp, 0o755)
        embedded = EmbeddedPostgres(Path(tmp))
        try:
            yield embedded.start()
        finally:
            embedded.stop()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database for this session, migrated, dropped at the end."""
    import asyncio

    name = f"ews_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def migrate(url: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            await apply_migrations(conn)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = with_database(server_url, name)
    asyncio.run(migrate(url))
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a database emptied of everything but counties and migrations."""
    pool = await create_pool(database_url, max_size=4)
    await pool.execute(_TRUNCATE)
    yield pool
    await pool.close()


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilioApi]:
    """Twilio's Messages API on loopback."""
    api = FakeTwilioApi(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    """A small rule so a handful of reports moves a level."""
    path = tmp_path / "rules.toml"
    path.write_text(TEST_RULES)
    return path


@pytest.fixture
def routes_file(tmp_path: Path) -> Path:
    """Routing that tells every responder of the alert's county, and the national ones, at once."""
    path = tmp_path / "routes.toml"
    path.write_text(TEST_ROUTES)
    return path


@pytest.fixture
def settings(database_url: str, fake_twilio: FakeTwilioApi, rules_file: Path, routes_file: Path,
             tmp_path: Path) -> Settings:
    """Settings for an app that authenticates webhooks and sends SMS to the loopback Twilio."""
    return Settings(
        database_url=database_url, data_dir=tmp_path, public_url=PUBLIC_URL, sender_key=SENDER_KEY,
        contact_key=CONTACT_KEY, rules_file=rules_file, routes_file=routes_file, eval_interval=3600,
        dispatch_interval=3600,
        notifiers="twilio_sms", twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN,
        twilio_from=TWILIO_FROM, twilio_api_base=fake_twilio.url, db_pool_size=6,
        classify_worker=False,  # a spawned worker per app would add seconds to every test; one test uses it
        # Each report its own incident, so the test rule's counts move one report at a time (an incident of
        # several reports counts once); the tests of incidents set the window they need.
        incident_window=0,
    )


@pytest.fixture
async def client(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[TestClient]:
    """The whole app on a real socket (after the database was emptied)."""
    async with TestClient(TestServer(create_app(settings))) as test_client:
        yield test_client


def random_sid() -> str:
    """A MessageSid in Twilio's shape."""
    return "SM" + secrets.token_hex(16)


@pytest.fixture
async def fake_at() -> AsyncIterator[FakeAfricasTalkingApi]:
    """Africa's Talking's messaging API on loopback."""
    api = FakeAfricasTalkingApi(username=AT_USERNAME, api_key=AT_API_KEY)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def at_settings(settings: Settings, fake_at: FakeAfricasTalkingApi) -> Settings:
    """The app with the AT channel mounted and AT's notifier sending to the loopback AT (Twilio's too)."""
    return settings.replace(at_callback_token=AT_TOKEN, at_username=AT_USERNAME, at_api_key=AT_API_KEY,
                            at_api_base=fake_at.url, notifiers="twilio_sms,africastalking_sms",
                            dispatch_interval=0.2)


@pytest.fixture
async def at_client(pool: asyncpg.Pool, at_settings: Settings) -> AsyncIterator[TestClient]:
    """The app with AT mounted on a real socket. No access log, as `ews serve` runs: AT's callback URLs carry
    the token in their query."""
    async with quiet_client(at_settings) as test_client:
        yield test_client


@contextlib.asynccontextmanager
async def quiet_client(settings: Settings) -> AsyncIterator[TestClient]:
    """A test client on the app for `settings`, served without an access log (as `ews serve` does)."""
    server = TestServer(create_app(settings))
    await server.start_server(access_log=None)
    async with TestClient(server) as test_client:
        yield test_client
