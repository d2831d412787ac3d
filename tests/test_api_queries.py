"""Query parameters: one validator for every route, counties by name or none, and no input that gets a 500."""

from __future__ import annotations

import asyncio
import http.client
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ews.core.settings import Settings
from ews.web.app import create_app
from ews.web.query import parameter_names, query_spec_of
from tests.conftest import CONTACT_KEY, PUBLIC_URL, SENDER_KEY, TEST_RULES, TWILIO_TOKEN
from tests.helpers import placed, send_report


async def get_json(client: TestClient, url: str) -> tuple[int, dict[str, object]]:
    """Status and JSON body of a GET."""
    response = await client.get(url)
    return response.status, await response.json()


@pytest.mark.parametrize(("query", "message"), [
    ("/api/v1/reports?limit=²", "limit must be an integer from 1 to 500"),
    ("/api/v1/reports?limit=%D9%A4", "limit must be an integer from 1 to 500"),  # Arabic-Indic four
    ("/api/v1/reports?limit=%2010", "limit must be an integer from 1 to 500"),
    ("/api/v1/reports?limit=10%00", "limit must be an integer from 1 to 500"),
    ("/api/v1/reports?limit=" + "9" * 5000, "limit must be an integer from 1 to 500"),
    ("/api/v1/reports?before=99999999999999999999", "before must be an integer from 1 to"),
    ("/api/v1/reports?limit=5&limit=6", "limit is given 2 times; give it once"),
    ("/api/v1/reports?lmit=5", 'unknown query parameter(s): "lmit"; this route takes county, before, limit'),
    ("/api/v1/reports?county=Atlantis", "county must be a county code from 1 to 47, a county name"),
    ("/api/v1/reports?county=0", "county must be a county code"),
    ("/api/v1/alerts?status=maybe", "status must be open, closed or all"),
    ("/api/v1/counties?county=42", 'unknown query parameter(s): "county"; this route takes no parameters'),
    ("/healthz?verbose=1", 'unknown query parameter(s): "verbose"'),
])
async def test_bad_parameters_get_400_saying_what_is_wrong(client: TestClient, query: str, message: str) -> None:
    status, body = await get_json(client, query)
    assert status == 400
    assert message in str(body["error"])


@pytest.mark.parametrize("county", ["43", "043", "Homa Bay", "homa bay", "HOMA-BAY", "homa%20%20bay"])
async def test_counties_by_code_or_name(client: TestClient, pool: asyncpg.Pool, county: str) -> None:
    await send_report(client, "Fujo Homa Bay sokoni")
    await send_report(client, "Fujo Kisumu")
    await placed(pool)
    for path in ("/api/v1/reports", "/api/v1/alerts"):
        status, body = await get_json(client, f"{path}?county={county}")
        assert status == 200, body
    _, body = await get_json(client, f"/api/v1/reports?county={county}")
    assert [r["county_code"] for r in body["reports"]] == [43]  # type: ignore[attr-defined]


async def test_reports_with_no_county_are_listed_and_counted(client: TestClient, pool: asyncpg.Pool) -> None:
    for text in ("Fujo Kisumu", "Watu wanapigana hapa", "Stones thrown near the school", "Kisumu tena"):
        await send_report(client, text)
    await placed(pool)
    _, body = await get_json(client, "/api/v1/reports?county=none")
    assert [r["body"] for r in body["reports"]] == ["Stones thrown near the school",  # type: ignore[attr-defined]
                                                    "Watu wanapigana hapa"]
    _, body = await get_json(client, "/api/v1/reports?county=NONE&limit=1")
    assert len(body["reports"]) == 1  # type: ignore[arg-type]
    _, everything = await get_json(client, "/api/v1/reports")
    assert len(everything["reports"]) == 4  # type: ignore[arg-type]
    # An old unplaced report counts in the total but not in the last 24 hours.
    await pool.execute("UPDATE reports SET received_at = now() - interval '2 days' "
                       "WHERE body = 'Watu wanapigana hapa'")
    await pool.execute("UPDATE reports SET received_at = now() - interval '2 days' WHERE body = 'Kisumu tena'")
    _, counties = await get_json(client, "/api/v1/counties")
    assert counties["unplaced_reports"] == 2 and counties["unplaced_reports_24h"] == 1
    by_code = {c["code"]: c for c in counties["counties"]}  # type: ignore[attr-defined]
    assert by_code[42]["reports_24h"] == 1 and by_code[1]["reports_24h"] == 0
    assert set(by_code[42]) == {"code", "name", "level", "since", "reports_24h"}
    status, alerts = await get_json(client, "/api/v1/alerts?county=none")
    assert status == 200 and alerts["alerts"] == []  # alerts are raised per county


async def test_an_empty_value_is_the_same_as_no_parameter(client: TestClient, pool: asyncpg.Pool) -> None:
    await send_report(client, "Fujo Kisumu")
    await placed(pool)
    status, body = await get_json(client, "/api/v1/reports?county=&limit=")
    assert status == 200 and len(body["reports"]) == 1  # type: ignore[arg-type]


# --- every route, arbitrary input -------------------------------------------------------------------------

HOSTILE = ["", " ", "\t1", "1 ", "²", "٤٢", "１", "0", "-1", "+1", "1e3", "0x10", "1_0", "9" * 30, "9" * 5000,
           "\x00", "1\x00", "none\x00", "%", "%zz", "%00", "%FF", "%C0%AF", "é", "\u202e", "\ud7ff", "null", "[]",
           "Homa\u00a0Bay", "kisumu\n", "all", "open", "NaN", "∞"]
# Numbers on both sides of every limit that matters: ours, PostgreSQL's smallint, integer and bigint.
BOUNDARIES = ["1", "47", "48", "500", "501", str(2**15), str(2**31), str(2**63 - 1), str(2**63), str(2**64),
              "0" * 30 + "1"]


@pytest.fixture(scope="module")
def live_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[web.Application, int]]:
    """The whole app on a real socket, in a thread of its own, for synchronous property tests."""
    tmp = tmp_path_factory.mktemp("live")
    rules = Path(tmp / "rules.toml")
    rules.write_text(TEST_RULES)
    settings = Settings(database_url=database_url, data_dir=tmp, public_url=PUBLIC_URL, sender_key=SENDER_KEY,
                        contact_key=CONTACT_KEY, rules_file=rules, eval_interval=3600, dispatch_interval=3600,
                        twilio_auth_token=TWILIO_TOKEN, db_pool_size=6)
    app = create_app(settings)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port: int = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield app, port
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def app_routes(app: web.Application) -> list[tuple[str, str, list[str]]]:
    """(method, path, parameter names) of every route the app's router holds."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = str(info.get("path") or info.get("formatter") or "")
        spec = query_spec_of(route.handler)
        found.append((route.method, path, list(parameter_names(spec)) if spec else []))
    return found


def test_every_get_route_reads_its_query_through_the_validator(live_app: tuple[web.Application, int]) -> None:
    app, _ = live_app
    gets = [r for r in app.router.routes() if r.method in ("GET", "HEAD")]
    assert gets, "no GET routes found"
    # The public web form's page is the one exception: links to it get shared on social media, which append
    # their own tracking parameters (?fbclid=...), and a reporter following one must get the form, not a 400.
    pages = {"/report"}
    assert [r.resource.canonical for r in gets
            if r.resource and r.resource.canonical not in pages and query_spec_of(r.handler) is None] == []


def raw(value: str) -> str:
    """Percent-encode a generated string, but let the ones that look like encodings through as they are."""
    return value if re.fullmatch(r"[%A-Za-z0-9]*", value) else quote(value, safe="")


@hypothesis_settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_query_string_gets_a_500(live_app: tuple[web.Application, int], data: st.DataObject) -> None:
    app, port = live_app
    method, path, names = data.draw(st.sampled_from(app_routes(app)), label="route")
    path = re.sub(r"\{[^}]+\}", lambda _m: quote(data.draw(st.text(min_size=1)), safe=""), path)
    value = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(BOUNDARIES), st.text(), st.integers().map(str),
                      st.from_regex(r"\A[0-9]{1,25}\Z"))
    # Every bad parameter gets a 400 before anything runs, so the values that could reach a 500 are the
    # ones that pass: the route's parameters one at a time, sometimes with others, unknown or repeated ones.
    pairs: list[tuple[str, str]] = []
    if names:
        pairs.append((data.draw(st.sampled_from(names), label="name"), data.draw(value, label="value")))
    pairs += data.draw(st.lists(st.tuples(st.one_of(st.sampled_from([*names, "x"]), st.text(max_size=20)), value),
                                max_size=3), label="more")
    target = path + ("?" + "&".join(f"{raw(k)}={raw(v)}" for k, v in pairs) if pairs else "")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, target, body=b"" if method == "POST" else None)
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status < 500, (method, target, response.status)
