"""`ews import` (acled, ushahidi, ews) on fixture files with bad rows, idempotent re-runs, no alerts from
history; `ews export` streaming in three formats, sensitive reports left out unless asked (audited)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ews.cli.data_commands import export
from ews.cli.importing import run_import
from ews.core.clock import utcnow
from ews.core.settings import Settings
from ews.db.repo.export import ExportFilter
from ews.web.app import create_app
from ingest.csv_import import parse_acled, parse_day, parse_ushahidi
from tests.conftest import REPORTER_PHONES, SENDER_KEY, TEST_RULES
from tests.helpers import send_report
from tests.test_cli import cli_env, run

FIXTURES = Path(__file__).parent / "fixtures"
ACLED = FIXTURES / "acled_kenya_sample.csv"
USHAHIDI = FIXTURES / "ushahidi_posts_sample.csv"
EWS_LINES = FIXTURES / "ews_reports_sample.jsonl"


async def import_file(pool: asyncpg.Pool | None, path: Path, fmt: str, tmp_path: Path, *, dry_run: bool = False,
                      source: str | None = None) -> tuple[object, str]:
    report = tmp_path / f"{path.name}.report.txt"
    summary = await run_import(pool, path, fmt=fmt, source=source or fmt, sender_key=SENDER_KEY, report_path=report,
                               now=utcnow(), dry_run=dry_run)
    return summary, report.read_text()


async def test_acled_import_maps_types_places_deaths_and_reports_bad_rows(pool: asyncpg.Pool, tmp_path: Path) -> None:
    summary, report = await import_file(pool, ACLED, "acled", tmp_path)
    assert (summary.read, summary.imported) == (13, 6)  # type: ignore[attr-defined]
    assert dict(summary.rejected) == {  # type: ignore[attr-defined]
        "bad event_date": 1, "not a Kenyan county": 1, "bad fatalities": 1, "not in Kenya": 1,
        "unknown event type": 1, "missing event_id_cnty": 1, "latitude/longitude is outside Kenya": 1}
    assert "line 7: bad event_date (not a date)" in report and "line 8: not a Kenyan county (Atlantis)" in report
    assert "rows read: 13" in report and "imported: 6" in report
    rows = {r["external_id"]: r for r in await pool.fetch("SELECT * FROM reports")}
    assert {r["channel"] for r in rows.values()} == {"import"} and {r["source"] for r in rows.values()} == {"acled"}
    riot, shooting, sgbv, protest, mob, clash = (rows[k] for k in ("KEN10001", "KEN10002", "KEN10003", "KEN10004",
                                                                   "KEN10005", "KEN10010"))
    assert (riot["county_code"], riot["incident_type"], riot["casualties"], riot["severity"]) == (
        42, "protest_demonstration", 0, None)
    assert (shooting["incident_type"], shooting["casualties"], shooting["severity"]) == ("killing", 2, "critical")
    assert shooting["occurred_at"].isoformat() == "2017-08-11T09:00:00+00:00"  # noon in Kenya
    assert (sgbv["incident_type"], sgbv["sensitive"], sgbv["county_code"]) == ("sgbv", True, 47)
    assert protest["county_code"] == 28, "ACLED's Elgeyo-Marakwet"
    assert mob["county_code"] == 21 and "[number removed]" in mob["body"], "Murang'a; numbers scrubbed"
    assert (clash["county_code"], clash["incident_type"], clash["severity"]) == (23, "killing", "critical")
    assert clash["latitude"] == pytest.approx(1.17)


async def test_reimport_is_idempotent(pool: asyncpg.Pool, tmp_path: Path) -> None:
    await import_file(pool, ACLED, "acled", tmp_path)
    again, report = await import_file(pool, ACLED, "acled", tmp_path)
    assert (again.imported, again.already_present) == (0, 6)  # type: ignore[attr-defined]
    assert "skipped, already present: 6" in report
    assert await pool.fetchval("SELECT count(*) FROM reports") == 6
    other, _ = await import_file(pool, ACLED, "acled", tmp_path, source="acled-copy")
    assert other.imported == 6, "ids are unique per source"  # type: ignore[attr-defined]


async def test_dry_run_validates_without_writing(pool: asyncpg.Pool, tmp_path: Path) -> None:
    summary, report = await import_file(None, ACLED, "acled", tmp_path, dry_run=True)
    assert summary.imported == 6 and "would be imported (dry run): 6" in report  # type: ignore[attr-defined]
    assert await pool.fetchval("SELECT count(*) FROM reports") == 0


async def test_ushahidi_import_never_keeps_the_contact_column(pool: asyncpg.Pool, tmp_path: Path) -> None:
    summary, report = await import_file(pool, USHAHIDI, "ushahidi", tmp_path)
    assert (summary.read, summary.imported) == (7, 4)  # type: ignore[attr-defined]
    assert "line 6: bad post date (yesterday)" in report
    assert "line 7: empty title and content" in report and "line 8: latitude/longitude is outside Kenya" in report
    rows = {r["external_id"]: r for r in await pool.fetch("SELECT * FROM reports")}
    assert (rows["501"]["county_code"], rows["501"]["incident_type"]) == (42, "threat_intimidation")
    assert (rows["502"]["county_code"], rows["502"]["incident_type"]) == (27, "hate_speech_incitement"), \
        "placed by its location name (Eldoret)"
    assert rows["503"]["body"].endswith("multi-line\ndescription kept") and rows["503"]["county_code"] == 32
    assert rows["507"]["sensitive"] and rows["507"]["incident_type"] == "sgbv"
    dump = json.dumps([dict(r) for r in await pool.fetch("SELECT * FROM reports")], default=str)
    assert not any(phone in dump or phone[4:] in dump for phone in REPORTER_PHONES)


async def test_ews_lines_round_trip_and_bad_lines(pool: asyncpg.Pool, tmp_path: Path) -> None:
    summary, report = await import_file(pool, EWS_LINES, "ews", tmp_path, source="archive")
    assert (summary.read, summary.imported) == (8, 3)  # type: ignore[attr-defined]
    for line, reason in ((3, "bad received_at"), (4, "not a JSON object"), (5, "not a JSON object"),
                         (6, "bad county_code"), (7, "unknown incident_type")):
        assert f"line {line}: {reason}" in report
    out = io.StringIO()
    assert await export(pool, ExportFilter(include_sensitive=True), "ews", out) == 3
    exported = [json.loads(line) for line in out.getvalue().splitlines()]
    original = [json.loads(line) for line in EWS_LINES.read_text().splitlines()[:2]]
    keep = ("body", "county_code", "incident_type", "casualties", "severity", "occurred_at", "received_at",
            "latitude", "longitude", "ward_code", "constituency_code", "language")
    assert [{k: e[k] for k in keep} for e in exported[:2]] == [{k: o[k] for k in keep} for o in original]


async def test_imported_history_never_raises_levels_or_alerts(pool: asyncpg.Pool, settings: Settings,
                                                              tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(TEST_RULES)
    async with TestClient(TestServer(create_app(settings.replace(rules_file=rules)))) as client:
        await _history_then_one_live_report(client, pool, tmp_path)


async def _history_then_one_live_report(client: TestClient, pool: asyncpg.Pool, tmp_path: Path) -> None:
    # Twenty events in Kisumu "now": far over the test rule's thresholds, were they live reports.
    now = utcnow()
    lines = ["event_id_cnty,event_date,event_type,sub_event_type,admin1,notes,fatalities"]
    lines += [f"KEN9{i:03},{now.date().isoformat()},Riots,Violent demonstration,Kisumu,Riot {i},1" for i in range(20)]
    path = tmp_path / "recent.csv"
    path.write_text("\n".join(lines) + "\n")
    summary, _ = await import_file(pool, path, "acled", tmp_path)
    assert summary.imported == 20  # type: ignore[attr-defined]
    # Inside the live window, a second apart (twenty incidents, not one).
    await pool.execute("UPDATE reports SET received_at = $1::timestamptz - id * interval '1 s', "
                       "occurred_at = $1::timestamptz - id * interval '1 s'", now)
    # The classification stage may already have grouped them while they shared one time: ungroup them, so
    # the setup is the same whichever ran first (regrouped later, a second apart, they stay apart).
    await pool.execute("UPDATE reports SET incident_id = NULL WHERE channel = 'import'")
    await send_report(client, "Fujo Kisumu")  # a live report makes the engine look at Kisumu
    from tests.helpers import eventually

    async def evaluated() -> bool:
        return bool(await pool.fetchval("SELECT statistic FROM engine_states WHERE county_code = 42"))

    await eventually(evaluated)
    # Counted in the series (a backtest needs it), but not in the hours the live engine judges.
    assert await pool.fetchval("SELECT count(*) FROM series_units WHERE county_code = 42 AND imported") == 20
    assert await pool.fetchval("SELECT statistic FROM engine_states WHERE county_code = 42") == 1
    assert await pool.fetchval("SELECT count(*) FROM alerts") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def seed_for_export(pool: asyncpg.Pool, tmp_path: Path) -> None:
    await import_file(pool, ACLED, "acled", tmp_path)


async def test_export_formats_filters_and_sensitive(pool: asyncpg.Pool, tmp_path: Path) -> None:
    await seed_for_export(pool, tmp_path)
    out = io.StringIO()
    assert await export(pool, ExportFilter(), "csv", out) == 5, "the sexual violence report is left out"
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["incident_type"] for r in rows} >= {"killing", "protest_demonstration"} and "sgbv" not in out.getvalue()
    assert "sender" not in rows[0] and "external_id" not in rows[0]
    geo = io.StringIO()
    assert await export(pool, ExportFilter(include_sensitive=True), "geojson", geo) == 6
    collection = json.loads(geo.getvalue())
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 6
    assert collection["features"][0]["geometry"] == {"type": "Point", "coordinates": [34.768, -0.0917]}
    kisumu = io.StringIO()
    start = parse_day("2017-08-10")
    assert await export(pool, ExportFilter(county_code=42, start=start), "ews", kisumu) == 1
    audit = await pool.fetch("SELECT detail FROM audit_log WHERE action = 'reports.exported' ORDER BY id")
    assert [json.loads(a["detail"])["include_sensitive"] for a in audit] == [False, True, False]


async def test_csv_export_defuses_spreadsheet_formulas(pool: asyncpg.Pool, tmp_path: Path) -> None:
    path = tmp_path / "formula.csv"
    path.write_text("event_id_cnty,event_date,event_type,sub_event_type,admin1,notes,fatalities\n"
                    'KEN1,2020-01-17,Riots,Mob violence,Kisumu,"=HYPERLINK(""http://x"")",0\n')
    await import_file(pool, path, "acled", tmp_path)
    out = io.StringIO()
    await export(pool, ExportFilter(), "csv", out)
    assert "'=HYPERLINK" in out.getvalue()


def test_acled_dates_as_acled_writes_them() -> None:
    assert parse_day("17 January 2020") == parse_day("2020-01-17") == parse_day("17-Jan-2020")
    assert parse_day("2020-02-30") is None and parse_day("January 17") is None


def test_a_file_without_acled_columns_is_refused_row_by_row() -> None:
    rows = list(parse_acled(io.StringIO("a,b\n1,2\n3,4\n"), source="acled", imported_at=utcnow()))
    assert [(r.line, r.reason) for r in rows] == [(2, "missing columns"), (3, "missing columns")]  # type: ignore[union-attr]


def test_ushahidi_v2_headers_are_understood() -> None:
    text = "#,INCIDENT TITLE,INCIDENT DATE,LOCATION,DESCRIPTION,CATEGORY,LATITUDE,LONGITUDE\n" \
           "9,Clash,2012-03-01 10:00:00,Kisumu,Fighting at the market,Violence,-0.1,34.75\n"
    (row,) = list(parse_ushahidi(io.StringIO(text), source="u", imported_at=utcnow()))
    assert row.report.external_id == "9" and row.report.incident_type == "physical_assault"  # type: ignore[union-attr]


def test_import_and_export_from_the_command_line(database_url: str, tmp_path: Path, pool: asyncpg.Pool) -> None:
    env = cli_env(database_url, tmp_path)
    result = run("import", str(ACLED), "--format", "acled", "--report", str(tmp_path / "r.txt"), env=env)
    assert result.returncode == 0, result.stderr
    assert "imported: 6" in result.stdout and "rows/s" in result.stdout
    again = run("import", str(ACLED), "--format", "acled", "--report", str(tmp_path / "r.txt"), env=env)
    assert "skipped, already present: 6" in again.stdout
    exported = run("export", "--format", "ews", "--county", "Kisumu", env=env)
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == 2 and "sensitive reports left out" in exported.stderr
    assert run("export", "--format", "csv", "--from", "yesterday", env=env).returncode == 2


async def test_worker_processes_give_the_same_import(pool: asyncpg.Pool, tmp_path: Path) -> None:
    report = tmp_path / "workers.txt"
    summary = await run_import(pool, ACLED, fmt="acled", source="acled", sender_key=SENDER_KEY, report_path=report,
                               now=utcnow(), workers=2)
    assert (summary.read, summary.imported, sum(summary.rejected.values())) == (13, 6, 7)
    assert "line 7: bad event_date (not a date)" in report.read_text()
    assert await pool.fetchval("SELECT count(*) FROM reports WHERE body LIKE '%[number removed]%'") == 1
