"""The placing stage: the acknowledgement does not wait for the text to be read, nothing is shown before it is,
and a report left unplaced (a crash, a stage that was down) is placed when a stage runs again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ews.core.models import ReportIn, Unplaced
from ews.core.settings import Settings
from ews.intake.enrich import receive, understand, understand_text
from ews.understand.placing import Placed, PlacingStage, worker_pool
from ews.web.app import create_app
from ews.web.appkeys import CLASSIFICATION, PLACING
from tests.conftest import SENDER_KEY
from tests.helpers import eventually, send_report

API_TOKEN = "api-token-" + "5" * 20
CLEARED_TOKEN = "cleared-token-" + "6" * 20
OPEN = {"Authorization": f"Bearer {API_TOKEN}"}
CLEARED = {"Authorization": f"Bearer {CLEARED_TOKEN}"}


@pytest.fixture
async def stopped_client(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[TestClient]:
    """The app with its placing stage stopped: the moments between a report's commit and its placing."""
    app = create_app(settings.replace(api_token=API_TOKEN, sensitive_api_token=CLEARED_TOKEN))
    async with TestClient(TestServer(app)) as client:
        await client.app[PLACING].stop()
        yield client


async def _bodies(client: TestClient, headers: dict[str, str]) -> list[str]:
    response = await client.get("/api/v1/reports", headers=headers)
    assert response.status == 200
    return [r["body"] for r in (await response.json())["reports"]]


async def test_a_report_is_hidden_until_its_text_is_read_and_placed_after_a_restart(
        stopped_client: TestClient, pool: asyncpg.Pool) -> None:
    client = stopped_client
    await send_report(client, "Fujo Kisumu sokoni")  # acknowledged with nothing read from the text
    row = await pool.fetchrow("SELECT * FROM reports")
    assert not row["understood"] and row["county_code"] is None and row["severity"] is None
    assert row["sensitive"]  # not yet known not to be: hidden
    assert await _bodies(client, OPEN) == []
    assert (await client.get(f"/api/v1/reports/{row['id']}", headers=OPEN)).status == 404
    assert await _bodies(client, CLEARED) == ["Fujo Kisumu sokoni"]
    # Classification waits for the place (it groups by it) and for the keyword sensitivity.
    assert await client.app[CLASSIFICATION].drain() == 0

    placed: list[Placed] = []
    stage = PlacingStage(pool, on_placed=placed.extend)  # as a restarted service's stage catches up
    assert await stage.drain() == 1
    row = await pool.fetchrow("SELECT * FROM reports")
    assert row["understood"] and row["county_code"] == 42 and row["place_source"] == "text"
    assert not row["sensitive"] and row["severity"] is not None
    assert [(p.report_id, p.county_code) for p in placed] == [(row["id"], 42)]
    assert await _bodies(client, OPEN) == ["Fujo Kisumu sokoni"]
    assert await stage.drain() == 0
    assert await client.app[CLASSIFICATION].drain() == 1


async def test_a_sensitive_report_stays_hidden_once_placed(stopped_client: TestClient, pool: asyncpg.Pool) -> None:
    client = stopped_client
    await send_report(client, "Msichana amebakwa karibu na mto Kondele Kisumu")
    await PlacingStage(pool).drain()
    row = await pool.fetchrow("SELECT * FROM reports")
    assert row["understood"] and row["sensitive"] and row["county_code"] == 42
    assert await _bodies(client, OPEN) == []


async def test_an_analysts_review_before_placing_decides_sensitivity(pool: asyncpg.Pool,
                                                                      stopped_client: TestClient) -> None:
    client = stopped_client
    await send_report(client, "Fujo Kisumu sokoni")
    report_id = await pool.fetchval("SELECT id FROM reports")
    response = await client.patch(f"/api/v1/reports/{report_id}", json={"sensitive": True}, headers=CLEARED)
    assert response.status == 200, await response.text()
    await PlacingStage(pool).drain()
    row = await pool.fetchrow("SELECT * FROM reports")
    assert row["understood"] and row["sensitive"]  # the text alone says not, the analyst said so
    assert await _bodies(client, OPEN) == []


async def test_the_running_app_places_classifies_and_evaluates(client: TestClient, pool: asyncpg.Pool) -> None:
    for _ in range(2):  # the test rule's watch level is 2 reports
        await send_report(client, "Fujo Kisumu sokoni")
    await eventually(lambda: pool.fetchval("SELECT count(*) = 2 FROM reports WHERE understood AND "
                                           "county_code = 42 AND classified_at IS NOT NULL"))
    await eventually(lambda: pool.fetchval("SELECT max(level) >= 1 FROM engine_states WHERE county_code = 42"))


async def test_placing_in_the_worker_process(pool: asyncpg.Pool, stopped_client: TestClient) -> None:
    await send_report(stopped_client, "Mapigano makali Eldoret")
    stage = PlacingStage(pool, worker=worker_pool())
    try:
        assert await stage.drain() == 1
    finally:
        await stage.stop()
    assert await pool.fetchval("SELECT county_code FROM reports") == 27


def _unplaced(body: str, **given: object) -> Unplaced:
    fields: dict[str, object] = {"county_code": None, "constituency_code": None, "ward_code": None,
                                 "place_source": None, "monitor_id": None, "incident_type": None,
                                 "casualties": None, **given}
    return Unplaced(1, body, **fields)  # type: ignore[arg-type]


def test_what_the_channel_gave_is_kept_and_the_text_fills_the_rest() -> None:
    by_menu = understand_text(_unplaced("Fujo Kisumu sokoni", county_code=47, place_source="channel"))
    assert (by_menu.county_code, by_menu.place_source, by_menu.place_confidence) == (47, "channel", 1.0)
    from_text = understand_text(_unplaced("Fujo Kisumu sokoni"))
    assert (from_text.county_code, from_text.place_source, from_text.place_span) == (42, "text", "Kisumu")
    # A monitor's home (filled in by screening) gives way to a place in the text, not to a structured SMS.
    home = understand_text(_unplaced("Fujo Kisumu sokoni", county_code=27, monitor_id=3))
    assert home.county_code == 42
    assert understand_text(_unplaced("habari", county_code=27, monitor_id=3)).county_code == 27
    assert understand_text(_unplaced("sgbv", incident_type="sgbv")).sensitive


def test_receive_reads_no_text_and_understand_reads_it_all() -> None:
    from datetime import UTC, datetime

    report = ReportIn(source="twilio", external_id="SM1", channel="twilio_sms", body="Fujo Kisumu sokoni",
                      sender="+254700000001", received_at=datetime(2026, 1, 1, tzinfo=UTC))
    received = receive(report, sender_key=SENDER_KEY)
    assert received.county_code is None and received.sensitive and received.severity is None
    assert received.reply_language == "sw"
    full = understand(report, sender_key=SENDER_KEY)
    assert full.county_code == 42 and not full.sensitive and full.severity is not None
