"""The web form in a real browser (Debian's chromium through playwright), with and without JavaScript."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from ews.core.settings import Settings
from ews.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture
async def server(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[TestServer]:
    """The whole app on a real socket for the browser."""
    async with TestServer(create_app(settings)) as test_server:
        yield test_server


@pytest.mark.parametrize("javascript", [False, True])
@pytest.mark.parametrize("lang", ["en", "sw"])
async def test_a_browser_sends_the_form(server: TestServer, pool: asyncpg.Pool, javascript: bool, lang: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            # A small phone's screen; JavaScript off is how Opera Mini and many feature phones behave.
            context = await browser.new_context(java_script_enabled=javascript, viewport={"width": 240, "height": 320})
            context.set_default_timeout(10_000)
            page = await context.new_page()
            await page.goto(str(server.make_url("/report")))
            if lang == "sw":
                await page.click("text=Kiswahili")
            await page.select_option("#county", label="Kisumu")
            await page.fill("#body", '<b>Vijana</b> wamekusanyika sokoni na mapanga')
            await page.fill("#date", "2999-01-01")  # in the future: refused, beside the field
            await page.click("button[type=submit]")
            error = page.locator("#date-error")
            await error.wait_for()
            assert ("tarehe" if lang == "sw" else "date") in (await error.inner_text()).lower()
            assert await page.input_value("#body") == "<b>Vijana</b> wamekusanyika sokoni na mapanga"
            await page.fill("#date", "")
            await page.click("button[type=submit]")
            reference = await page.locator("#reference").inner_text()
            assert re.fullmatch(r"EWS-\d+", reference)
            assert "mapanga" not in await page.content()
        finally:
            await browser.close()
    rows = await pool.fetch("SELECT channel, county_code, language, body FROM reports")
    assert len(rows) == 1, "the refused try stored nothing"
    assert {(r["channel"], r["county_code"], r["language"]) for r in rows} == {("web_form", 42, lang)}
