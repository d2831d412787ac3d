"""The partner API: tokens, batches with per-item results, idempotency, hostile input, attribution."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ews.core.clock import utcnow
from ews.db.repo.partners import create_token, revoke_token
from ews.web.places import place_tree
from ingest.partner_api import MAX_BATCH, parse_item
from rules.vocabulary import INCIDENT_TYPES

PATH = "/api/v1/reports"
TYPES = [t.code for t in INCIDENT_TYPES]


async def token_for(pool: asyncpg.Pool, partner: str = "ncic") -> str:
    """A live partner token made through the real repository."""
    return (await create_token(pool, partner, now=utcnow()))[1]


def auth(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


async def test_a_batch_is_stored_attributed_and_answered_per_item(client: TestClient, pool: asyncpg.Pool) -> None:
    token = await token_for(pool)
    batch = {"reports": [
        {"id": "ncic-1", "body": "Youths blocking the road at Kondele", "county_code": 42,
         "incident_type": "threat_intimidation", "occurred_at": "2026-11-30T18:00:00+03:00", "casualties": 0},
        {"id": "ncic-2", "body": "Houses burnt", "county_code": 99},  # bad county
        {"id": "ncic-3", "body": "Clash reported near the market", "latitude": -0.10, "longitude": 34.76},
    ]}
    response = await client.post(PATH, json=batch, headers=auth(token))
    assert response.status == 202
    answer = await response.json()
    assert answer["accepted"] == 2 and answer["rejected"] == 1 and answer["partner"] == "ncic"
    first, bad, placed = answer["results"]
    assert first["status"] == "accepted" and first["reference"].startswith("EWS-") and first["created"]
    assert bad == {"index": 1, "status": "rejected",
                   "errors": [{"field": "county_code", "error": "must be an integer from 1 to 47"}]}
    assert placed["county_code"] == 42, "a point in Kisumu town is placed in Kisumu county"
    rows = await pool.fetch("SELECT source, channel, partner, county_code, incident_type, occurred_at, latitude "
                            "FROM reports ORDER BY id")
    assert [(r["source"], r["channel"], r["partner"]) for r in rows] == [("partner:ncic", "partner_api", "ncic")] * 2
    assert rows[0]["incident_type"] == "threat_intimidation" and rows[0]["occurred_at"].hour == 15
    assert rows[1]["latitude"] == -0.10


async def test_a_constituency_outside_the_county_given_is_refused_and_a_ward_brings_its_parents(
        client: TestClient, pool: asyncpg.Pool) -> None:
    ward = next(iter(sorted(place_tree().wards)))
    constituency, county, _name = place_tree().wards[ward]
    batch = {"reports": [{"id": "n-1", "body": "Clash", "county_code": 1, "constituency_code": 240},
                         {"id": "n-2", "body": "Clash", "ward_code": ward}]}
    answer = await (await client.post(PATH, json=batch, headers=auth(await token_for(pool)))).json()
    bad, placed = answer["results"]
    assert bad["status"] == "rejected" and bad["errors"][0]["field"] == "constituency_code"
    assert "is in county" in bad["errors"][0]["error"]
    row = await pool.fetchrow("SELECT county_code, constituency_code, ward_code FROM reports WHERE external_id = 'n-2'")
    assert (placed["county_code"], tuple(row)) == (county, (county, constituency, ward))


async def test_the_same_id_twice_is_stored_once(client: TestClient, pool: asyncpg.Pool) -> None:
    token = await token_for(pool)
    item = {"id": "x-1", "body": "Fujo Kisumu", "county_code": 42}
    one = await (await client.post(PATH, json={"reports": [item]}, headers=auth(token))).json()
    two = await (await client.post(PATH, json={"reports": [item]}, headers=auth(token))).json()
    assert one["results"][0]["reference"] == two["results"][0]["reference"]
    assert [one["results"][0]["created"], two["results"][0]["created"]] == [True, False]
    assert await pool.fetchval("SELECT count(*) FROM reports") == 1


async def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(
        client: TestClient, pool: asyncpg.Pool) -> None:
    token = await token_for(pool)
    batch = {"reports": [{"body": "Tension at the polling station", "county_code": 47}]}
    first = await client.post(PATH, json=batch, headers=auth(token, "key-1"))
    again = await client.post(PATH, data=json.dumps(batch, indent=2), headers={
        **auth(token, "key-1"), "Content-Type": "application/json"})  # same JSON, other spacing
    assert first.status == again.status == 202
    assert await first.json() == await again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = await client.post(PATH, json={"reports": [{"body": "Something else", "county_code": 47}]},
                              headers=auth(token, "key-1"))
    assert other.status == 409 and "different body" in (await other.json())["error"]
    assert await pool.fetchval("SELECT count(*) FROM reports") == 1
    # Keys are per partner: another partner's identical key is its own.
    other_partner = await client.post(PATH, json=batch, headers=auth(await token_for(pool, "church"), "key-1"))
    assert other_partner.status == 202 and (await other_partner.json())["partner"] == "church"


async def test_items_without_id_under_one_key_are_not_stored_twice_even_if_the_answer_was_lost(
        client: TestClient, pool: asyncpg.Pool) -> None:
    token = await token_for(pool)
    batch = {"reports": [{"body": "Roadblock", "county_code": 1}, {"body": "Stones thrown", "county_code": 1}]}
    await client.post(PATH, json=batch, headers=auth(token, "lost-answer"))
    await pool.execute("DELETE FROM partner_requests")  # as if the first answer had never been kept
    again = await (await client.post(PATH, json=batch, headers=auth(token, "lost-answer"))).json()
    assert [r["created"] for r in again["results"]] == [False, False]
    assert await pool.fetchval("SELECT count(*) FROM reports") == 2


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong-token", "Basic abc", "Bearer " + "x" * 300,
                                    "Bearer tökén"])
async def test_missing_forged_or_odd_tokens_get_401_and_store_nothing(
        client: TestClient, pool: asyncpg.Pool, header: str | None) -> None:
    await token_for(pool)
    headers = {"Authorization": header} if header is not None else {}
    response = await client.post(PATH, json={"reports": [{"body": "x", "county_code": 1}]}, headers=headers)
    assert response.status == 401
    assert "token" in (await response.json())["error"]
    assert await pool.fetchval("SELECT count(*) FROM reports") == 0


async def test_a_revoked_token_is_refused(client: TestClient, pool: asyncpg.Pool) -> None:
    token_id, token = await create_token(pool, "ncic", now=utcnow())
    assert (await client.post(PATH, json={"reports": [{"body": "a"}]}, headers=auth(token))).status == 202
    assert await revoke_token(pool, token_id, now=utcnow())
    assert (await client.post(PATH, json={"reports": [{"body": "a"}]}, headers=auth(token))).status == 401
    assert await pool.fetchval("SELECT count(*) FROM partner_tokens WHERE token_hash LIKE 'ews_pt_%'") == 0, \
        "only the hash is stored"
    actions = [r["action"] for r in await pool.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["partner_token.created", "partner_token.revoked"]


@pytest.mark.parametrize(("body", "content_type", "status", "says"), [
    (b"not json", "application/json", 400, "not valid JSON"),
    (b"\xff\xfe{}", "application/json", 400, "UTF-8"),
    (b"[]", "application/json", 400, "expected a JSON object"),
    (b'{"reports": []}', "application/json", 400, "empty"),
    (b'{"reports": [{"body": "a"}], "extra": 1}', "application/json", 400, "unknown top-level"),
    (b'{"reports": [{"body": "a"}]}', "text/plain", 415, "application/json"),
    (b'{"reports": [{"body": NaN}]}', "application/json", 400, "not valid JSON"),
    (b'{"reports": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json", 400, "not valid JSON"),
])
async def test_a_bad_request_as_a_whole_gets_a_clear_4xx(client: TestClient, pool: asyncpg.Pool, body: bytes,
                                                         content_type: str, status: int, says: str) -> None:
    token = await token_for(pool)
    response = await client.post(PATH, data=body, headers={**auth(token), "Content-Type": content_type})
    assert response.status == status
    assert says in (await response.json())["error"]


async def test_odd_field_names_are_echoed_safely_and_the_answer_kept(client: TestClient, pool: asyncpg.Pool) -> None:
    token = await token_for(pool)
    batch = {"reports": [{"body": "a", "\u0000\ud800x": 1}]}
    first = await client.post(PATH, json=batch, headers=auth(token, "odd"))
    assert first.status == 202
    assert (await first.json())["results"][0]["errors"][0]["field"] == "\\u0000\\ud800x"
    again = await client.post(PATH, json=batch, headers=auth(token, "odd"))
    assert again.headers.get("Idempotent-Replayed") == "true"


async def test_batches_over_500_and_bodies_over_4_mib_are_refused(client: TestClient, pool: asyncpg.Pool) -> None:
    token = await token_for(pool)
    too_many = {"reports": [{"body": "a"}] * (MAX_BATCH + 1)}
    response = await client.post(PATH, json=too_many, headers=auth(token))
    assert response.status == 400 and "limit is 500" in (await response.json())["error"]
    huge = b'{"reports": [{"body": "' + b"a" * (5 * 1024 * 1024) + b'"}]}'
    response = await client.post(PATH, data=huge, headers={**auth(token), "Content-Type": "application/json"})
    assert response.status == 413
    assert await pool.fetchval("SELECT count(*) FROM reports") == 0


async def test_a_full_batch_of_500_is_stored(client: TestClient, pool: asyncpg.Pool) -> None:
    token = await token_for(pool)
    batch = {"reports": [{"id": f"b-{i}", "body": f"report {i}", "county_code": 1 + i % 47} for i in range(500)]}
    answer = await (await client.post(PATH, json=batch, headers=auth(token))).json()
    assert answer["accepted"] == 500
    assert [r["index"] for r in answer["results"]] == list(range(500))
    assert await pool.fetchval("SELECT count(*) FROM reports WHERE partner = 'ncic'") == 500


NOW = utcnow()


@pytest.mark.parametrize(("item", "field", "says"), [
    ({}, "body", "is required"),
    ({"body": ""}, "body", "non-empty"),
    ({"body": "a" * 4001}, "body", "limit is 4000"),
    ({"body": "a\x00b"}, "body", "NUL"),
    ({"body": "a", "county_code": True}, "county_code", "integer"),
    ({"body": "a", "county_code": "42"}, "county_code", "integer"),
    ({"body": "a", "constituency_code": 291}, "constituency_code", "1 to 290"),
    ({"body": "a", "ward_code": 217}, "ward_code", "four digits"),
    ({"body": "a", "ward_code": "1451"}, "ward_code", "four digits"),
    ({"body": "a", "incident_type": "riot"}, "incident_type", "one of"),
    ({"body": "a", "occurred_at": "2026-11-30 18:00"}, "occurred_at", "time zone"),
    ({"body": "a", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at", "future"),
    ({"body": "a", "latitude": 1.0}, "longitude", "together"),
    ({"body": "a", "latitude": 51.5, "longitude": -0.1}, "latitude", "in Kenya"),
    ({"body": "a", "latitude": "0", "longitude": 36.0}, "latitude", "number"),
    ({"body": "a", "casualties": -1}, "casualties", "0 to"),
    ({"body": "a", "language": "fr"}, "language", "one of"),
    ({"body": "a", "county": "Kisumu"}, "county", "unknown field"),
])
def test_each_bad_field_is_named_with_why(item: dict[str, Any], field: str, says: str) -> None:
    errors = parse_item(item, 0, partner="p", key=None, received_at=NOW, incident_types=TYPES)
    assert isinstance(errors, list)
    assert any(e.field == field and says in e.error for e in errors), errors


@pytest.mark.parametrize(("item", "field", "says"), [
    ({"body": "a", "constituency_code": 240, "county_code": 1}, "constituency_code", "is in county"),
    ({"body": "a", "ward_code": "1200", "county_code": 1}, "ward_code", "is in constituency"),
    ({"body": "a", "ward_code": "1200", "constituency_code": 1}, "ward_code", "is in constituency"),
])
def test_places_that_do_not_nest_are_named_with_where_they_are(item: dict[str, Any], field: str, says: str) -> None:
    errors = parse_item(item, 0, partner="p", key=None, received_at=NOW, incident_types=TYPES, places=place_tree())
    assert isinstance(errors, list)
    assert any(e.field == field and says in e.error for e in errors), errors


def test_a_ward_alone_brings_its_constituency_and_county() -> None:
    ward = next(iter(sorted(place_tree().wards)))
    constituency, county, _name = place_tree().wards[ward]
    parsed = parse_item({"body": "a", "ward_code": ward}, 0, partner="p", key=None, received_at=NOW,
                        incident_types=TYPES, places=place_tree())
    assert not isinstance(parsed, list)
    assert (parsed.county_code, parsed.constituency_code, parsed.ward_code) == (county, constituency, ward)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                                  max_size=3), max_leaves=10)


@given(st.dictionaries(st.sampled_from([*sorted(__import__("ingest.partner_api").partner_api.ITEM_FIELDS), "x"]),
                       _JSON, max_size=8) | _JSON)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_parse_item_never_raises_on_anything(item: Any) -> None:
    parsed = parse_item(item, 0, partner="p", key="k", received_at=NOW, incident_types=TYPES, places=place_tree())
    assert isinstance(parsed, list) or parsed.body.strip()


async def test_rules_count_reports_by_when_they_happened(client: TestClient, pool: asyncpg.Pool) -> None:
    from datetime import timedelta

    from tests.helpers import eventually

    token = await token_for(pool)
    long_ago = (utcnow() - timedelta(hours=3)).isoformat()
    old = {"reports": [{"body": f"Fight last night {i}", "county_code": 42, "occurred_at": long_ago,
                        "reporter_id": f"m{i}"} for i in range(4)]}
    assert (await client.post(PATH, json=old, headers=auth(token))).status == 202

    async def looked_at() -> bool:
        return await pool.fetchval("SELECT evaluated_at FROM engine_states WHERE county_code = 42") is not None

    await eventually(looked_at)
    assert await pool.fetchval("SELECT statistic FROM engine_states WHERE county_code = 42") == 0, \
        "received now, but happened three hours ago: outside the hour the rule judges"
    for i in range(2):  # two posts: one batch's reports of one place and type would be one incident
        fresh = {"reports": [{"body": f"Fight now {i}", "county_code": 42, "reporter_id": f"n{i}"}]}
        assert (await client.post(PATH, json=fresh, headers=auth(token))).status == 202

    async def watched() -> bool:
        return await pool.fetchval("SELECT level FROM engine_states WHERE county_code = 42") == 1

    await eventually(watched)


async def test_numbers_in_partner_text_are_never_stored(client: TestClient, pool: asyncpg.Pool) -> None:
    from tests.conftest import REPORTER_PHONES

    token = await token_for(pool)
    batch = {"reports": [{"body": f"Call the chief on {REPORTER_PHONES[1]} or 0733 444 555", "county_code": 42}]}
    assert (await client.post(PATH, json=batch, headers=auth(token))).status == 202
    body = await pool.fetchval("SELECT body FROM reports")
    assert body == "Call the chief on [number removed] or [number removed]"
