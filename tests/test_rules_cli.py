"""`ews rules check` and `ews backtest` run in-process (over a file, or over the test database)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from ews.cli.main import main
from tests.test_cli import cli_env
from tests.test_rulebook import BAD, DEFAULT


def test_rules_check_accepts_the_default_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(DEFAULT)]) == 0
    out = capsys.readouterr().out
    assert "ok, version" in out and "critical-report: immediate" in out


def test_rules_check_lists_every_error_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD, encoding="utf-8")
    assert main(["rules", "check", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"{bad}: 16 errors"
    lines = [int(e.split(":")[1]) for e in err[:-1]]
    assert lines == sorted(lines) and len(lines) == 16


def test_rules_check_of_a_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(tmp_path / "none.toml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_rules_check_recognises_a_first_rules_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "rules.toml"
    first.write_text('[[rule]]\nname = "reports_1h"\nkind = "window_count"\nwindow_minutes = 60\n'
                     'watch = 3\nwarning = 6\nalert = 10\n')
    assert main(["rules", "check", str(first)]) == 1
    err = capsys.readouterr().err
    assert "'window_minutes' is a key of the first rules file" in err and 'detector = "window_count"' in err


def _history(path: Path) -> None:
    """Sixty quiet days in Kisumu and Nakuru, then a week of armed attacks in Kisumu (one of them deadly)."""
    start = datetime(2026, 6, 1, 9, tzinfo=UTC)
    lines = []
    for day in range(67):
        for county in (42, 32):
            burst = county == 42 and day >= 60
            for n in range(6 if burst else day % 2):
                at = (start + timedelta(days=day, minutes=7 * n)).isoformat()
                kind, severity = ("armed_attack", "critical" if n == 0 and day == 61 else "high") if burst \
                    else ("threat_intimidation", "medium")
                lines.append(json.dumps({"reference": f"h-{county}-{day}-{n}", "body": "tension reported",
                                         "received_at": at, "occurred_at": at, "county_code": county,
                                         "incident_type": kind, "severity": severity}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def test_a_backtest_of_the_database_equals_one_of_its_export(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> None:
    # The same history imported, then replayed from the database and from `ews export` of it: the same
    # alerts and metrics (one reader of report objects serves both).
    for name, value in cli_env(database_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    history = tmp_path / "history.jsonl"
    _history(history)
    assert await asyncio.to_thread(main, ["import", str(history), "--format", "ews", "--source", "kenya-2026"]) == 0
    exported = tmp_path / "export.jsonl"
    assert await asyncio.to_thread(main, ["export", "--format", "ews", "--include-sensitive",
                                          "--output", str(exported)]) == 0
    truth = tmp_path / "episodes.csv"
    truth.write_text("county,start,end\n42,2026-07-31,2026-08-06\n", encoding="utf-8")
    common = ["backtest", "--rules", str(DEFAULT), "--truth", str(truth), "--no-charts", "--no-sweep", "--quiet"]
    assert await asyncio.to_thread(main, [*common, "--reports", str(exported), "--out", str(tmp_path / "file")]) == 0
    assert await asyncio.to_thread(main, [*common, "--source", "database", "--out", str(tmp_path / "db")]) == 0
    for name in ("alerts.csv", "metrics.json"):
        assert (tmp_path / "db" / name).read_text() == (tmp_path / "file" / name).read_text(), name
    assert "42" in (tmp_path / "db" / "alerts.csv").read_text()  # Kisumu's week of attacks raised it
    assert await asyncio.to_thread(main, [*common, "--source", "database", "--reports", str(exported),
                                          "--out", str(tmp_path / "x")]) == 2
    assert "not both" in capsys.readouterr().err


async def test_rules_activate_history_and_diff_keep_every_version(
        pool: asyncpg.Pool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in cli_env(database_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    first = tmp_path / "first.toml"
    first.write_text(DEFAULT.read_text(encoding="utf-8"), encoding="utf-8")
    second = tmp_path / "second.toml"
    second.write_text(DEFAULT.read_text(encoding="utf-8").replace('version = "default-3"', 'version = "nakuru-1"')
                      .replace("keep_for = 1", "keep_for = 2", 1), encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD, encoding="utf-8")

    def ews(*args: str) -> int:
        return main(list(args))

    assert await asyncio.to_thread(ews, "rules", "activate", str(first), "--by", "Achieng") == 0
    assert await asyncio.to_thread(ews, "rules", "activate", str(second), "--by", "Achieng",
                                   "--note", "election week") == 0
    assert "activated rules V2 (version nakuru-1" in capsys.readouterr().out
    # A file with errors is refused with every error, and nothing is stored.
    assert await asyncio.to_thread(ews, "rules", "activate", str(bad), "--by", "Achieng") == 1
    assert "nothing activated" in capsys.readouterr().err
    assert await asyncio.to_thread(ews, "rules", "activate", str(first), "--by", " ") == 2
    rows = await pool.fetch("SELECT id, version, activated_by, note FROM rules_versions ORDER BY id")
    assert [(r["version"], r["activated_by"], r["note"]) for r in rows] == [
        ("default-3", "Achieng", ""), ("nakuru-1", "Achieng", "election week")]
    audited = await pool.fetch("SELECT actor, subject FROM audit_log WHERE action = 'rules.activated' ORDER BY id")
    assert [(a["actor"], a["subject"]) for a in audited] == [("Achieng", "rules:1"), ("Achieng", "rules:2")]

    assert await asyncio.to_thread(ews, "rules", "history") == 0
    history = capsys.readouterr().out.splitlines()
    assert history[0].startswith("V2 ") and "(active)" in history[0] and "election week" in history[0]
    assert history[1].startswith("V1 ") and "(active)" not in history[1]

    assert await asyncio.to_thread(ews, "rules", "diff", "V1", "v2") == 0
    diff = capsys.readouterr().out
    assert '-version = "default-3"' in diff and '+version = "nakuru-1"' in diff
    assert "-keep_for = 1" in diff and "+keep_for = 2" in diff
    assert await asyncio.to_thread(ews, "rules", "diff", "V1", "V9") == 2
    assert "no rules version V9" in capsys.readouterr().err
