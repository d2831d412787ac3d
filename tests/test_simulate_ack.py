"""`ews simulate --ack A-N` closes the loop a newcomer watches: an alert escalates, a responder's ACK comes
back by SMS, the escalation stops."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from ews.cli.simulate import acknowledge, escalation_line
from tests.conftest import PUBLIC_URL, REPORTER_PHONES, RESPONDER_PHONES, TWILIO_TOKEN
from tests.helpers import add_responders, open_and_plan

DEMO = Path(__file__).parent.parent / "routes.demo.toml"
DIRECTORY = f"""name,phone,county,role,language
Amina,{RESPONDER_PHONES[0]},Kisumu,csic,en
Situation room,{REPORTER_PHONES[4]},national,analyst,en
"""


@pytest.fixture
def routes_file() -> Path:
    """The app routes with the demo file (one-minute tiers)."""
    return DEMO


async def test_simulate_ack_stops_the_escalation_it_shows(client: TestClient, pool: asyncpg.Pool) -> None:
    await add_responders(pool, DIRECTORY)
    (alert,) = await open_and_plan(pool, county=42, level=2, routes=DEMO.read_text(encoding="utf-8"))
    lines: list[str] = []
    detail = await acknowledge(str(client.make_url("")), f"A-{alert}", sender=RESPONDER_PHONES[0],
                               auth_token=TWILIO_TOKEN, public_url=PUBLIC_URL, out=lines.append)
    assert lines[0].startswith("reply: ") and "acknowledged" in lines[0]
    assert detail["acknowledged_at"] is not None
    assert lines[-1] == f"A-{alert}: escalation demo-escalation tier 1 of 2: stopped (acknowledged)"


def test_a_running_escalation_says_what_comes_next_and_how_to_stop_it() -> None:
    line = escalation_line("A-3", {"policy": "county-escalation", "tier": 2, "tiers": 3, "receivers": ["mediators"],
                                   "told_at": "2027-08-09T12:15:00+00:00", "next_at": "2027-08-09T12:30:00+00:00",
                                   "stopped_at": None, "stop_reason": None})
    assert "tier 2 of 3 (mediators)" in line and "2027-08-09T12:30:00+00:00" in line
    assert "ews simulate --ack A-3 --from" in line
