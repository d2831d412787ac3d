"""Settings are one documented table; migrations apply once, in order, under a lock."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg
import pytest

from ews.core.settings import SETTINGS_TABLE, Settings
from ews.db.migrate import apply_migrations, load_migrations
from tests.helpers import ScratchDatabase

README = Path(__file__).parent.parent / "README.md"


def test_readme_documents_every_setting() -> None:
    text = README.read_text()
    missing = [s.env for s in SETTINGS_TABLE if f"`{s.env}`" not in text]
    assert missing == [], f"README.md does not document {missing}"
    assert "`EWS_TEST_DATABASE_URL`" in text and "`EWS_BENCH_DATABASE_URL`" in text


def test_readme_lists_no_setting_that_does_not_exist() -> None:
    documented = set(re.findall(r"`(EWS_[A-Z_]+)`", README.read_text()))
    known = {s.env for s in SETTINGS_TABLE} | {"EWS_TEST_DATABASE_URL", "EWS_BENCH_DATABASE_URL"}
    assert documented - known == set()


def readme_settings_table() -> dict[str, tuple[str, str]]:
    """The README's settings table: env name -> (type, default as written)."""
    rows = re.findall(r"^\| `(EWS_[A-Z_]+)` \| (\w+) \| ([^|]+) \|", README.read_text(), re.M)
    return {env: (kind, default.strip()) for env, kind, default in rows}


def test_readme_table_matches_the_running_defaults_and_types() -> None:
    running = Settings()
    table = readme_settings_table()
    assert set(table) == {s.env for s in SETTINGS_TABLE}
    for entry in SETTINGS_TABLE:
        value = getattr(running, entry.field)
        shown = "unset" if value is None else f"`{value}`"
        assert table[entry.env] == (entry.kind, shown), entry.env


def test_settings_parse_types_and_defaults() -> None:
    settings = Settings.from_env({"EWS_PORT": "9090", "EWS_EVAL_INTERVAL": "2.5", "EWS_DATA_DIR": "/tmp/x",
                                  "EWS_TWILIO_AUTH_TOKEN": ""})
    assert settings.port == 9090 and settings.eval_interval == 2.5 and settings.data_dir == Path("/tmp/x")
    assert settings.twilio_auth_token is None and settings.notifiers == "console" and settings.host == "127.0.0.1"


def test_a_bad_setting_names_itself() -> None:
    with pytest.raises(ValueError, match="EWS_PORT: expected int"):
        Settings.from_env({"EWS_PORT": "eighty"})


def test_secrets_are_masked_in_repr() -> None:
    settings = Settings.from_env({"EWS_TWILIO_AUTH_TOKEN": "tok-secret-123", "EWS_SENDER_KEY": "key-secret-456",
                                  "EWS_DATABASE_URL": "postgresql://u:pw-secret-789@db/ews"})
    shown = repr(settings) + str(settings)
    for secret in ("tok-secret-123", "key-secret-456", "pw-secret-789"):
        assert secret not in shown
    assert "twilio_auth_token='***'" in shown and "port=8080" in shown
    assert set(settings.secrets()) == {"tok-secret-123", "key-secret-456", "postgresql://u:pw-secret-789@db/ews"}


def test_migrations_are_numbered_and_unique() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(versions) and versions[:2] == ["0001", "0002"]


async def test_migrations_apply_once_even_when_raced(server_url: str) -> None:
    async with ScratchDatabase(server_url, "ews_migrate_race") as scratch:
        conns = [await asyncpg.connect(scratch.url) for _ in range(3)]
        results = await asyncio.gather(*(apply_migrations(c) for c in conns))
        applied = sorted(len(r) for r in results)
        assert applied == [0, 0, len(load_migrations())], "exactly one racer applies, the others wait and skip"
        assert await conns[0].fetchval("SELECT count(*) FROM schema_migrations") == len(load_migrations())
        assert await conns[0].fetchval("SELECT count(*) FROM counties") == 47
        assert await apply_migrations(conns[0]) == []
        for conn in conns:
            await conn.close()


async def test_counties_table_matches_the_gazetteer(pool: asyncpg.Pool) -> None:
    from rules.gazetteer import COUNTIES

    rows = await pool.fetch("SELECT code, name FROM counties ORDER BY code")
    assert [(r["code"], r["name"]) for r in rows] == [(c.code, c.name) for c in COUNTIES]
