"""The USSD channel over the real app and PostgreSQL: sessions, one report per session, hostile input."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from ews.core.settings import Settings
from rules.gazetteer.data import admin_units
from tests.conftest import AT_TOKEN, REPORTER_PHONES, quiet_client
from tests.helpers import count_rows, eventually

USSD = "/ingest/africastalking/ussd"
CODE = "*384*1234#"
KISUMU_CENTRAL = next(n for n, u in admin_units().constituencies.items() if u.name == "Kisumu Central")


def session_form(text: str, *, session: str, phone: str = REPORTER_PHONES[0]) -> dict[str, str]:
    """The form AT posts for one USSD screen."""
    return {"sessionId": session, "serviceCode": CODE, "phoneNumber": phone, "networkCode": "63902",
            "text": text}


async def screen(client: TestClient, text: str, *, session: str, phone: str = REPORTER_PHONES[0],
                 token: str | None = AT_TOKEN) -> tuple[int, str]:
    """POST one USSD request; (status, body)."""
    url = USSD if token is None else f"{USSD}?token={token}"
    response = await client.post(url, data=session_form(text, session=session, phone=phone))
    return response.status, await response.text()


async def walk(client: TestClient, answers: list[str], *, session: str,
               phone: str = REPORTER_PHONES[0]) -> list[str]:
    """A whole session as AT drives it: the first request with no text, then each answer appended."""
    bodies = []
    for i in range(len(answers) + 1):
        status, body = await screen(client, "*".join(answers[:i]), session=session, phone=phone)
        assert status == 200
        bodies.append(body)
    return bodies


@pytest.fixture
async def ussd_client(pool: asyncpg.Pool, at_settings: Settings) -> TestClient:
    async with quiet_client(at_settings.replace(at_ussd_codes=CODE)) as client:
        yield client


async def test_a_whole_session_in_swahili_stores_one_report_with_the_reporters_choices(
        ussd_client: TestClient, pool: asyncpg.Pool) -> None:
    session = "ATUid_" + secrets.token_hex(8)
    bodies = await walk(ussd_client, ["1", "42", "3", "3", "4", "vijana wamebeba mapanga", "1"], session=session)
    assert "3 Kisumu Central" in bodies[2]
    assert bodies[0].startswith("CON Karibu") and all(b.startswith("CON ") for b in bodies[:-1])
    assert bodies[-1].startswith("END Asante") and "EWS-1" in bodies[-1]
    assert "mapanga" not in bodies[-1]  # the receipt repeats nothing of the report
    row = await pool.fetchrow("SELECT * FROM reports")
    assert row["constituency_code"] == KISUMU_CENTRAL
    assert (row["channel"], row["source"], row["external_id"], row["county_code"], row["incident_type"],
            row["casualties"], row["language"], row["body"]) == (
        "at_ussd", "at_ussd", session, 42, "armed_attack", 6, "sw", "vijana wamebeba mapanga")
    # The END screen was the receipt: no SMS is queued for a USSD report.
    await asyncio.sleep(0.3)
    assert await count_rows(pool, "outbox") == 0


async def test_a_session_in_english_by_county_name_and_its_repeated_final_request_store_one_report(
        ussd_client: TestClient, pool: asyncpg.Pool) -> None:
    session = "ATUid_" + secrets.token_hex(8)
    bodies = await walk(ussd_client, ["2", "nakru", "98", "1", "5", "1", "1"], session=session)
    assert bodies[-1].startswith("END Thank you")
    status, again = await screen(ussd_client, "2*nakru*98*1*5*1*1", session=session)  # AT repeats the last request
    assert status == 200 and again == bodies[-1]
    assert await count_rows(pool, "reports") == 1
    row = await pool.fetchrow("SELECT county_code, incident_type, casualties, body FROM reports")
    assert tuple(row) == (32, "killing", None, "")


async def test_a_ussd_report_counts_like_any_other(ussd_client: TestClient, pool: asyncpg.Pool) -> None:
    # The test rule watches at 2 reports in the hour; two people reporting one armed attack in one ward are
    # one incident, so these two are in two wards.
    for phone in REPORTER_PHONES[:2]:
        await walk(ussd_client, ["1", "42", "98", "6", "1", "1", "1"], session=secrets.token_hex(6), phone=phone)
    await eventually(lambda: _level_at_least(pool, 42, 1))


async def _level_at_least(pool: asyncpg.Pool, county: int, level: int) -> bool:
    found = await pool.fetchval("SELECT max(level) FROM engine_states WHERE county_code = $1", county)
    return found is not None and found >= level


async def test_an_abandoned_or_cancelled_session_creates_nothing(ussd_client: TestClient,
                                                                   pool: asyncpg.Pool) -> None:
    await walk(ussd_client, ["1", "42", "98", "3"], session="abandoned")
    bodies = await walk(ussd_client, ["2", "42", "98", "3", "2", "text", "2"], session="cancelled")
    assert bodies[-1].startswith("END Report not sent")
    assert await count_rows(pool, "reports") == 0


@pytest.mark.parametrize("token", [None, "", "wrong", AT_TOKEN + "x"])
async def test_a_missing_or_wrong_token_is_refused(ussd_client: TestClient, pool: asyncpg.Pool,
                                                   token: str | None) -> None:
    status, _body = await screen(ussd_client, "1*42*3*4*x*1", session="forged", token=token)
    assert status == 403 and await count_rows(pool, "reports") == 0


@pytest.mark.parametrize(("form", "status"), [
    ({"serviceCode": CODE, "phoneNumber": REPORTER_PHONES[0], "text": ""}, 400),
    ({"sessionId": "s1", "serviceCode": CODE, "text": ""}, 400),
    ({"sessionId": "s1", "phoneNumber": REPORTER_PHONES[0], "text": ""}, 400),
    ({"sessionId": "s" * 500, "serviceCode": CODE, "phoneNumber": REPORTER_PHONES[0], "text": ""}, 400),
    ({"sessionId": "s1", "serviceCode": CODE, "phoneNumber": REPORTER_PHONES[0], "text": "x" * 5000}, 400),
])
async def test_malformed_requests_get_a_clear_4xx(ussd_client: TestClient, pool: asyncpg.Pool,
                                                  form: dict[str, str], status: int) -> None:
    response = await ussd_client.post(f"{USSD}?token={AT_TOKEN}", data=form)
    assert response.status == status and "error" in await response.json()
    assert await count_rows(pool, "reports") == 0


async def test_hostile_paths_get_an_end_screen_or_a_reprompt_never_a_500(ussd_client: TestClient,
                                                                         pool: asyncpg.Pool) -> None:
    fifty = "*".join(["1"] * 50)
    status, body = await screen(ussd_client, fifty, session="long")
    assert status == 200 and body.startswith("END ")
    status, body = await screen(ussd_client, "1*abc*'; DROP TABLE reports;--*<script>", session="odd")
    assert status == 200 and body.startswith("CON ")
    other = await ussd_client.post(f"{USSD}?token={AT_TOKEN}", data={**session_form("", session="x"),
                                                                      "serviceCode": "*999#"})
    assert other.status == 200 and (await other.text()).startswith("END ")
    bad_utf8 = await ussd_client.post(f"{USSD}?token={AT_TOKEN}", data=b"sessionId=%ff&text=%fe",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert bad_utf8.status == 400
    assert await count_rows(pool, "reports") == 0


async def test_without_a_callback_token_the_ussd_route_is_not_mounted(pool: asyncpg.Pool,
                                                                     settings: Settings) -> None:
    async with quiet_client(settings) as client:
        response = await client.post(f"{USSD}?token=anything", data=session_form("", session="s"))
        assert response.status == 404


async def test_the_flood_rule_applies_to_ussd_sessions(ussd_client: TestClient, pool: asyncpg.Pool,
                                                        at_settings: Settings) -> None:
    limit = at_settings.flood_max_reports
    for n in range(limit + 2):
        await walk(ussd_client, ["1", "42", "98", "3", "1", "1", "1"], session=f"flood-{n}")
    flooding = await pool.fetchval("SELECT count(*) FROM reports WHERE flooding")
    assert await count_rows(pool, "reports") == limit + 2 and flooding == 2
