"""`ews routes activate/history/diff`: routing files stored versioned (audited), like the rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from ews.alerting.routes_file import parse_routes
from ews.cli.main import main
from ews.db.repo.routes_versions import active_routes
from tests.test_cli import cli_env

SAMPLE = Path(__file__).parent.parent / "routes.toml"


async def test_routes_activate_history_and_diff(pool: asyncpg.Pool, database_url: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    await pool.execute("TRUNCATE routes_versions RESTART IDENTITY")
    for name, value in cli_env(database_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    first = tmp_path / "first.toml"
    first.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    second = tmp_path / "second.toml"
    second.write_text(SAMPLE.read_text(encoding="utf-8").replace('timeout = "30m"', 'timeout = "45m"'),
                      encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(SAMPLE.read_text(encoding="utf-8").replace('timeout = "30m"', 'timeout = "soon"'),
                   encoding="utf-8")

    def ews(*args: str) -> int:
        return main(list(args))

    assert await asyncio.to_thread(ews, "routes", "activate", str(first), "--by", "Achieng") == 0
    assert "activated routes R1" in capsys.readouterr().out
    assert await asyncio.to_thread(ews, "routes", "activate", str(second), "--by", "Otieno",
                                   "--note", "slower national desk") == 0
    assert await asyncio.to_thread(ews, "routes", "activate", str(bad), "--by", "Otieno") == 1
    err = capsys.readouterr().err
    assert "timeout: 'soon' is not a duration" in err and "nothing activated" in err
    assert await asyncio.to_thread(ews, "routes", "activate", str(first), "--by", " ") == 2
    assert await pool.fetchval("SELECT count(*) FROM routes_versions") == 2
    audited = await pool.fetch("SELECT actor, subject FROM audit_log WHERE action = 'routes.activated' ORDER BY id")
    assert [(a["actor"], a["subject"]) for a in audited] == [("Achieng", "routes:1"), ("Otieno", "routes:2")]
    capsys.readouterr()
    assert await asyncio.to_thread(ews, "routes", "history") == 0
    history = capsys.readouterr().out.splitlines()
    assert history[0].startswith("R2 ") and "(active)" in history[0] and "slower national desk" in history[0]
    assert history[1].startswith("R1 ") and "(active)" not in history[1]
    assert await asyncio.to_thread(ews, "routes", "diff", "R1", "r2") == 0
    diff = capsys.readouterr().out
    assert '-timeout = "30m"' in diff and '+timeout = "45m"' in diff
    assert await asyncio.to_thread(ews, "routes", "diff", "R1", "R9") == 2
    assert await asyncio.to_thread(ews, "routes", "diff", "x", "R1") == 2
    async with pool.acquire() as conn:
        active = await active_routes(conn)
    assert active is not None and active.id == 2
    assert parse_routes(active.body).policies["county-escalation"].tiers[2].timeout.total_seconds() == 45 * 60
