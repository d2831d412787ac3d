"""The web form over the real app: both languages, CSRF, rate limit, validation kept beside fields, XSS."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from ews.core.clock import utcnow
from ews.core.settings import Settings
from ews.web.app import create_app
from ews.web.places import place_tree
from ingest.web_form import RateLimit, parse_form
from ingest.web_form_text import TEXT
from rules.vocabulary import INCIDENT_TYPES

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
async def form_client(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[TestClient]:
    """The app with a small form rate limit."""
    async with TestClient(TestServer(create_app(settings.replace(form_rate_limit=3)))) as client:
        yield client


async def csrf_of(client: TestClient, lang: str = "en") -> str:
    page = await (await client.get(f"/report?lang={lang}")).text()
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert match, page
    return match.group(1)


def filled(csrf: str, **fields: str) -> dict[str, str]:
    base = {"csrf": csrf, "lang": "en", "county": "42", "place": "Kondele", "incident_type": "threat_intimidation",
            "date": "", "time": "", "body": "Men with pangas gathering at the market"}
    return {**base, **fields}


@pytest.mark.parametrize("lang", ["en", "sw"])
async def test_form_round_trip_in_each_language(form_client: TestClient, pool: asyncpg.Pool, lang: str) -> None:
    page = await (await form_client.get(f"/report?lang={lang}")).text()
    assert TEXT["title"][lang] in page and TEXT["send"][lang] in page
    assert "<script" not in page, "the form works without JavaScript"
    assert "Kisumu" in page and INCIDENT_TYPES[5].label(lang) in page
    csrf = await csrf_of(form_client, lang)
    today = utcnow().date().isoformat()
    response = await form_client.post("/report", data=filled(csrf, lang=lang, date=today, time="00:30"))
    thanks = await response.text()
    assert response.status == 200, thanks
    reference = re.search(r'id="reference">(EWS-\d+)<', thanks)
    assert reference and TEXT["thanks"][lang] in thanks
    assert "pangas" not in thanks and "Kondele" not in thanks, "the thank-you page repeats none of the report"
    row = await pool.fetchrow("SELECT * FROM reports")
    assert f"EWS-{row['id']}" == reference.group(1)
    assert (row["channel"], row["county_code"], row["incident_type"], row["language"]) == (
        "web_form", 42, "threat_intimidation", lang)
    assert row["body"] == "Kondele: Men with pangas gathering at the market"
    assert row["occurred_at"].isoformat().startswith((utcnow().date() - __import__("datetime").timedelta(days=1))
                                                     .isoformat() + "T21:30")


async def test_errors_show_beside_the_field_in_the_language_and_keep_what_was_typed(
        form_client: TestClient, pool: asyncpg.Pool) -> None:
    csrf = await csrf_of(form_client, "sw")
    response = await form_client.post("/report", data=filled(csrf, lang="sw", county="", body="Kuna fujo sokoni",
                                                             date="2999-01-01"))
    page = await response.text()
    assert response.status == 400
    assert re.search(r'id="county-error">' + re.escape(TEXT["err_county"]["sw"]), page)
    assert TEXT["err_date"]["sw"] in page
    assert "Kuna fujo sokoni</textarea>" in page and 'value="Kondele"' in page and 'value="2999-01-01"' in page
    assert await pool.fetchval("SELECT count(*) FROM reports") == 0


async def test_a_constituency_of_the_county_is_stored_and_one_of_another_county_refused(
        form_client: TestClient, pool: asyncpg.Pool) -> None:
    tree = place_tree()
    kisumu_central = next(code for code, (county, name) in tree.constituencies.items() if county == 42)
    elsewhere = next(code for code, (county, name) in tree.constituencies.items() if county != 42)
    page = await (await form_client.get("/report?lang=sw")).text()
    assert '<optgroup label="Kisumu">' in page and f'<option value="{kisumu_central}">' in page
    csrf = await csrf_of(form_client, "sw")
    refused = await form_client.post("/report", data=filled(csrf, lang="sw", constituency=str(elsewhere)))
    text = await refused.text()
    assert refused.status == 400
    assert re.search(r'id="constituency-error">' + re.escape(TEXT["err_constituency"]["sw"]), text)
    assert f'<option value="{elsewhere}" selected>' in text  # what was chosen is kept
    assert await pool.fetchval("SELECT count(*) FROM reports") == 0
    accepted = await form_client.post("/report", data=filled(csrf, constituency=str(kisumu_central)))
    assert accepted.status == 200
    row = await pool.fetchrow("SELECT county_code, constituency_code, place_source FROM reports")
    assert tuple(row) == (42, kisumu_central, "channel")


async def test_xss_in_every_field_is_shown_back_as_text(form_client: TestClient, pool: asyncpg.Pool) -> None:
    csrf = await csrf_of(form_client)
    data = filled(csrf, **{name: XSS for name in ("county", "constituency", "place", "incident_type", "date", "time",
                                                  "body")})
    response = await form_client.post("/report", data=data)
    page = await response.text()
    assert response.status == 400
    assert "<script>" not in page and "<img" not in page
    assert page.count("&lt;script&gt;") >= 4  # place, date, time and body are shown back (selects keep choices)
    assert await pool.fetchval("SELECT count(*) FROM reports") == 0


async def test_xss_in_a_stored_report_never_reaches_the_thank_you_page(form_client: TestClient,
                                                                       pool: asyncpg.Pool) -> None:
    csrf = await csrf_of(form_client)
    response = await form_client.post("/report", data=filled(csrf, body=XSS, place=XSS))
    assert response.status == 200 and "<script>" not in await response.text()
    assert await pool.fetchval("SELECT body FROM reports") == f"{XSS}: {XSS}"  # stored as typed, shown as text


@pytest.mark.parametrize("case", ["no cookie", "no token", "wrong token", "token of another cookie"])
async def test_csrf_refusal(form_client: TestClient, pool: asyncpg.Pool, settings: Settings, case: str) -> None:
    csrf = await csrf_of(form_client)
    data = filled(csrf)
    if case == "no cookie":
        form_client.session.cookie_jar.clear()
    elif case == "no token":
        del data["csrf"]
    elif case == "wrong token":
        data["csrf"] = "0" * 64
    else:
        async with TestClient(TestServer(create_app(settings))) as other:
            data["csrf"] = await csrf_of(other)
    response = await form_client.post("/report", data=data)
    assert response.status == 403
    assert TEXT["csrf"]["en"] in await response.text()
    assert await pool.fetchval("SELECT count(*) FROM reports") == 0


async def test_rate_limit_per_client(form_client: TestClient, pool: asyncpg.Pool) -> None:
    csrf = await csrf_of(form_client)
    for _ in range(3):
        assert (await form_client.post("/report", data=filled(csrf))).status == 200
    refused = await form_client.post("/report", data=filled(csrf, lang="sw"))
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Ripoti nyingi mno" in await refused.text()
    assert await pool.fetchval("SELECT count(*) FROM reports") == 3


def test_rate_limit_window_slides() -> None:
    limit = RateLimit(2, 60)
    assert limit.allow("a", 0) is None and limit.allow("a", 1) is None
    assert limit.allow("a", 2) == pytest.approx(58)
    assert limit.allow("b", 2) is None, "another client has its own budget"
    assert limit.allow("a", 60.5) is None


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b"csrf=%FF%FE&body=x", "application/x-www-form-urlencoded", 400),
    (b"body=" + b"a" * 70_000, "application/x-www-form-urlencoded", 413),
    (b"{}", "application/json", 415),
])
async def test_hostile_bodies_get_a_clear_4xx(form_client: TestClient, body: bytes, content_type: str,
                                              status: int) -> None:
    response = await form_client.post("/report", data=body, headers={"Content-Type": content_type})
    assert response.status == status


async def test_storage_failure_is_503_and_says_send_again(form_client: TestClient, pool: asyncpg.Pool) -> None:
    csrf = await csrf_of(form_client)
    await pool.execute("ALTER TABLE reports ADD CONSTRAINT test_refuse CHECK (channel <> 'web_form') NOT VALID")
    try:
        response = await form_client.post("/report", data=filled(csrf))
        assert response.status == 503 and TEXT["busy"]["en"] in await response.text()
    finally:
        await pool.execute("ALTER TABLE reports DROP CONSTRAINT test_refuse")


@given(st.dictionaries(st.sampled_from(["county", "constituency", "place", "incident_type", "date", "time", "body"]),
                       st.text(max_size=30) | st.integers(0, 300).map(str)))
def test_parse_form_never_raises(form: dict[str, str]) -> None:
    county_of = {code: county for code, (county, _) in place_tree().constituencies.items()}
    result, fields = parse_form(form, language="en", counties=range(1, 48), incident_types=["killing"], now=utcnow(),
                                constituencies=county_of)
    assert bool(result.errors) != bool(fields)


async def test_a_shared_link_with_tracking_parameters_still_shows_the_form(form_client: TestClient) -> None:
    response = await form_client.get("/report?lang=sw&fbclid=IwAR0abc&utm_source=whatsapp")
    assert response.status == 200 and TEXT["title"]["sw"] in await response.text()


async def test_a_report_of_sexual_violence_is_kept_out_of_exports_and_the_api(form_client: TestClient,
                                                                              pool: asyncpg.Pool) -> None:
    import io

    from ews.cli.data_commands import export
    from ews.db.repo.export import ExportFilter

    csrf = await csrf_of(form_client)
    thanks = await (await form_client.post("/report", data=filled(csrf, incident_type="sgbv"))).text()
    report_id = re.search(r"EWS-(\d+)", thanks).group(1)  # type: ignore[union-attr]
    assert (await form_client.get(f"/api/v1/reports/{report_id}")).status == 404
    out = io.StringIO()
    assert await export(pool, ExportFilter(), "ews", out) == 0
    assert await export(pool, ExportFilter(include_sensitive=True), "ews", out) == 1
    assert '"sensitive": true' in out.getvalue()
