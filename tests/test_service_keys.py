"""Key fingerprints: a database filled under one sender or contact key refuses to start with another."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ews.core.privacy import ContactCipher
from ews.core.settings import Settings
from ews.db.migrate import apply_migrations
from ews.db.repo.service_keys import KeyMismatch, fingerprint
from ews.web.app import create_app
from tests.conftest import CONTACT_KEY, RESPONDER_PHONES, SENDER_KEY
from tests.helpers import ScratchDatabase, add_responders
from tests.test_cli import cli_env, run

OTHER_SENDER_KEY = "another-sender-key-" + "7" * 32
OTHER_CONTACT_KEY = ContactCipher.new_key()


def scratch(server_url: str) -> ScratchDatabase:
    """A database of this test's own (unique name: other suites may share the server)."""
    return ScratchDatabase(server_url, f"ews_keys_{uuid.uuid4().hex[:10]}")


async def start(settings: Settings) -> None:
    """Start the app and stop it again."""
    async with TestClient(TestServer(create_app(settings))) as client:
        assert (await client.get("/healthz")).status == 200


async def test_first_start_stores_fingerprints_not_keys(server_url: str, settings: Settings) -> None:
    async with scratch(server_url) as db:
        await start(settings.replace(database_url=db.url, notifiers="console"))
        conn = await asyncpg.connect(db.url)
        try:
            rows = {r["name"]: r["fingerprint"] for r in await conn.fetch("SELECT * FROM service_keys")}
        finally:
            await conn.close()
    assert rows == {"sender_key": fingerprint("sender_key", SENDER_KEY),
                    "contact_key": fingerprint("contact_key", CONTACT_KEY)}
    assert SENDER_KEY not in str(rows) and CONTACT_KEY not in str(rows)


@pytest.mark.parametrize(("change", "named"), [
    ({"sender_key": OTHER_SENDER_KEY}, "EWS_SENDER_KEY is not the key this database was filled with"),
    ({"contact_key": OTHER_CONTACT_KEY}, "EWS_CONTACT_KEY is not the key this database was filled with"),
])
async def test_a_start_with_another_key_is_refused(server_url: str, settings: Settings, change: dict[str, str],
                                                   named: str) -> None:
    async with scratch(server_url) as db:
        ours = settings.replace(database_url=db.url, notifiers="console")
        await start(ours)
        with pytest.raises(KeyMismatch, match=named) as refused:
            await start(ours.replace(**change))
        assert "new, empty database" in str(refused.value)
        await start(ours)  # the right keys still start, and nothing was overwritten


@pytest.mark.parametrize(("change", "named"), [
    ({"sender_key": OTHER_SENDER_KEY}, "EWS_SENDER_KEY"),
    ({"contact_key": OTHER_CONTACT_KEY}, "EWS_CONTACT_KEY"),
])
async def test_a_database_from_before_fingerprints_is_checked_by_a_responder(
        server_url: str, settings: Settings, change: dict[str, str], named: str) -> None:
    async with scratch(server_url) as db:
        conn = await asyncpg.connect(db.url)
        await apply_migrations(conn)
        pool = await asyncpg.create_pool(db.url, min_size=1, max_size=2)
        try:
            await add_responders(pool, f"name,phone,county,role,language\nA,{RESPONDER_PHONES[0]},Kisumu,csic,sw\n")
        finally:
            await pool.close()
        ours = settings.replace(database_url=db.url, notifiers="console")
        try:
            with pytest.raises(KeyMismatch, match=f"{named} is not the key"):
                await start(ours.replace(**change))
            assert await conn.fetchval("SELECT count(*) FROM service_keys") == 0, "a refused start stores nothing"
            await start(ours)
            assert await conn.fetchval("SELECT count(*) FROM service_keys") == 2
        finally:
            await conn.close()


def test_serve_and_import_with_a_new_data_dir_are_refused(database_url: str, tmp_path: Path) -> None:
    # The session database was filled under SENDER_KEY / CONTACT_KEY; a new data directory without them in
    # the environment generates keys of its own.
    assert run("migrate", env=cli_env(database_url, tmp_path)).returncode == 0
    env = {"EWS_DATABASE_URL": database_url, "EWS_DATA_DIR": str(tmp_path / "new"), "EWS_SENDER_KEY": "",
           "EWS_CONTACT_KEY": ""}
    people = tmp_path / "people.csv"
    people.write_text(f"name,phone,county,role,language\nA,{RESPONDER_PHONES[2]},Kisumu,csic,sw\n")
    # Fill it (or confirm it was filled) with the session's keys first.
    assert run("responders", "import", str(people), env=cli_env(database_url, tmp_path)).returncode == 0
    for args in (["serve"], ["responders", "import", str(people)]):
        result = run(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert "is not the key this database was filled with" in result.stderr
        assert "Traceback" not in result.stderr
