"""Health and the read API: shapes, filters, bad parameters, the optional bearer token."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ews.core.settings import Settings
from ews.web.app import create_app
from tests.helpers import ScratchDatabase, placed, send_report


async def test_healthz_ok(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["engine"] == "leader"  # a lone process runs the rules engine itself


async def test_healthz_is_503_when_the_database_goes_away(server_url: str, settings: Settings) -> None:
    async with ScratchDatabase(server_url, "ews_health_gone") as scratch:
        doomed = settings.replace(database_url=scratch.url, notifiers="console")
        async with TestClient(TestServer(create_app(doomed))) as client:
            assert (await client.get("/healthz")).status == 200
            await scratch.drop()
            response = await client.get("/healthz")
            assert response.status == 503
            assert (await response.json())["database"] == "unavailable"


async def test_reports_filter_by_county_and_page(client: TestClient, pool: asyncpg.Pool) -> None:
    for text in ("Fujo Kisumu", "Fighting in Nakuru", "Kisumu tena", "No place named"):
        await send_report(client, text)
    await placed(pool)  # the county is read from the text after the acknowledgement
    kisumu = (await (await client.get("/api/v1/reports?county=42")).json())["reports"]
    assert [r["body"] for r in kisumu] == ["Kisumu tena", "Fujo Kisumu"]
    assert set(kisumu[0]) == {"id", "reference", "source", "body", "county_code", "county_name", "language",
                              "received_at", "constituency_code", "ward_code", "place_confidence", "place_span",
                              "place_source", "flooding", "repeat_of", "trust", "from_monitor", "incident_type",
                              "type_confidence", "severity", "needs_review", "review_status", "incident_id",
                              "sensitive", "model_version"}
    page = (await (await client.get(f"/api/v1/reports?limit=1&before={kisumu[0]['id']}")).json())["reports"]
    assert [r["body"] for r in page] == ["Fighting in Nakuru"]


@pytest.mark.parametrize("query", ["/api/v1/reports?county=48", "/api/v1/reports?county=abc",
                                   "/api/v1/reports?limit=0", "/api/v1/reports?limit=100000",
                                   "/api/v1/alerts?status=maybe", "/api/v1/alerts?county=-1"])
async def test_bad_query_parameters_get_400_with_a_reason(client: TestClient, query: str) -> None:
    response = await client.get(query)
    assert response.status == 400
    assert "must be" in (await response.json())["error"]


async def test_api_token_guards_the_api_but_not_health_or_webhooks(pool: asyncpg.Pool, settings: Settings) -> None:
    guarded = settings.replace(api_token="s3cret-api-token")
    async with TestClient(TestServer(create_app(guarded))) as client:
        assert (await client.get("/api/v1/counties")).status == 401
        wrong = await client.get("/api/v1/counties", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        ok = await client.get("/api/v1/counties", headers={"Authorization": "Bearer s3cret-api-token"})
        assert ok.status == 200 and len((await ok.json())["counties"]) == 47
        assert (await client.get("/healthz")).status == 200
