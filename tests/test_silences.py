"""Silences: the pure decision (with a clock), matcher checks (property-based), the repo, CLI and API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from ews.alerting.durations import format_duration, parse_duration
from ews.alerting.routes_file import MatcherError
from ews.alerting.silences import (
    Silence,
    SilenceEnded,
    expired,
    is_silenced,
    matchers_from_json,
    matchers_json,
    parse_matchers,
    silenced_by,
)
from ews.cli.main import main
from ews.core.settings import Settings
from ews.web.app import create_app
from tests.test_cli import cli_env

T0 = datetime(2027, 8, 9, 12, 0, tzinfo=UTC)
KISUMU_WATCH = {"county": "42", "level": "WATCH", "group": "tension", "rule": "r", "sensitive": "false"}


def _silence(sid: int, *matchers: str, start: datetime = T0, hours: float = 2) -> Silence:
    return Silence(sid, parse_matchers(list(matchers)), start, start + timedelta(hours=hours), "Achieng",
                   "mediators on site", T0)


def test_a_silence_mutes_from_its_start_until_its_end_exclusive() -> None:
    silence = _silence(1, "county=Kisumu", "level=WATCH", start=T0 + timedelta(minutes=10))
    assert not is_silenced(KISUMU_WATCH, [silence], T0)  # pending
    assert silence.state(T0) == "pending"
    assert is_silenced(KISUMU_WATCH, [silence], T0 + timedelta(minutes=10))  # starts_at is inclusive
    assert is_silenced(KISUMU_WATCH, [silence], T0 + timedelta(hours=2, minutes=9, seconds=59))
    assert not is_silenced(KISUMU_WATCH, [silence], T0 + timedelta(hours=2, minutes=10))  # ends_at is not
    assert silence.state(T0 + timedelta(hours=3)) == "expired"


def test_every_matcher_must_match() -> None:
    silence = _silence(1, "county=Kisumu", "level=WATCH")
    assert not is_silenced({**KISUMU_WATCH, "level": "WARNING"}, [silence], T0)
    assert not is_silenced({**KISUMU_WATCH, "county": "47"}, [silence], T0)
    regex = _silence(2, "level =~ WATCH|WARNING", "group != sgbv")
    assert is_silenced({**KISUMU_WATCH, "level": "WARNING"}, [regex], T0)
    assert not is_silenced({**KISUMU_WATCH, "group": "sgbv"}, [regex], T0)
    assert silenced_by(KISUMU_WATCH, [regex, silence], T0) == silence  # the oldest (lowest id) first


def test_expiring_ends_it_now_and_a_pending_one_never_starts() -> None:
    silence = _silence(1, "county=Kisumu")
    done = expired(silence, by="Otieno", now=T0 + timedelta(minutes=30))
    assert done.ends_at == T0 + timedelta(minutes=30) and done.expired_by == "Otieno"
    assert not is_silenced(KISUMU_WATCH, [done], T0 + timedelta(minutes=30))
    assert is_silenced(KISUMU_WATCH, [done], T0 + timedelta(minutes=29))  # the past is not rewritten
    pending = _silence(2, "county=Kisumu", start=T0 + timedelta(hours=1))
    never = expired(pending, by="Otieno", now=T0)
    assert never.starts_at == never.ends_at == T0
    assert not any(is_silenced(KISUMU_WATCH, [never], T0 + timedelta(minutes=m)) for m in range(0, 200, 10))
    with pytest.raises(SilenceEnded):
        expired(done, by="Otieno", now=T0 + timedelta(hours=1))


def test_matchers_are_checked_like_the_routing_file_and_carry_county_codes() -> None:
    (county,) = parse_matchers(["county=Kisumu"])
    assert (county.label, county.op, county.value) == ("county", "=", "42")
    assert matchers_from_json(json.loads(json.dumps(matchers_json([county])))) == (county,)
    for bad, says in [("county=Atlantis", "unknown county"), ("level=RED", "level is never 'RED'"),
                      ("colour=red", "unknown label"), ("county", "not `label op value`"),
                      ("level =~ (", "bad regex")]:
        with pytest.raises(MatcherError, match=says):
            parse_matchers([bad])
    with pytest.raises(ValueError, match="at least one matcher"):
        parse_matchers([])


@given(st.lists(st.text(max_size=40), min_size=1, max_size=4))
def test_any_matcher_text_is_a_matcher_or_a_clear_error(texts: list[str]) -> None:
    try:
        matchers = parse_matchers(texts)
    except MatcherError as exc:
        assert exc.message
        return
    assert len(matchers) == len(texts)
    assert matchers_from_json(matchers_json(matchers)) == matchers  # what is stored reads back the same


@given(st.sampled_from(["county", "level", "group", "sensitive", "rule"]), st.sampled_from(["=", "!=", "=~", "!~"]),
       st.sampled_from(["Kisumu", "42", "Nairobi City", "WATCH", "WARNING|ALERT", "sgbv", "true", "r.*"]),
       st.dictionaries(st.sampled_from(["county", "level", "group", "sensitive", "rule"]),
                       st.sampled_from(["42", "47", "WATCH", "ALERT", "sgbv", "true", "r1"])))
def test_a_silence_matches_exactly_when_its_matcher_does(label: str, op: str, value: str,
                                                         labels: dict[str, str]) -> None:
    try:
        matchers = parse_matchers([f"{label}{op}{value}"])
    except MatcherError:
        return
    silence = Silence(1, matchers, T0, T0 + timedelta(hours=1), "a", "b", T0)
    assert is_silenced(labels, [silence], T0) == matchers[0].matches(labels)
    assert not is_silenced(labels, [silence], T0 + timedelta(hours=1))


@given(st.integers(0, 366 * 86400))
def test_durations_read_back(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


@given(st.text(max_size=12))
def test_any_duration_text_is_a_duration_or_a_value_error(text: str) -> None:
    try:
        assert parse_duration(text) >= timedelta(0)
    except ValueError as exc:
        assert "duration" in str(exc)


@pytest.fixture
async def silences_pool(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The test database with no silences."""
    await pool.execute("TRUNCATE silences RESTART IDENTITY")
    yield pool


async def test_cli_adds_lists_and_expires_silences_with_audit_rows(
        silences_pool: asyncpg.Pool, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in cli_env(database_url, tmp_path).items():
        monkeypatch.setenv(name, value)

    def ews(*args: str) -> int:
        return main(list(args))

    assert await asyncio.to_thread(ews, "silences", "add", "--match", "county=Kisumu", "--match", "level=WATCH",
                                   "--for", "2h", "--by", "Achieng", "--reason", "mediators on site") == 0
    assert "added silence 1: county = 42 (Kisumu), level = WATCH" in capsys.readouterr().out
    # Refused, each saying why, nothing stored.
    for bad, says in [(["--match", "county=Atlantis", "--for", "2h"], "unknown county"),
                      (["--match", "level=WATCH"], "--for DURATION"),
                      (["--match", "level=WATCH", "--for", "2 hours"], "not like 30s"),
                      (["--match", "level=WATCH", "--until", "2027-08-09T18:00"], "no time zone"),
                      (["--match", "level=WATCH", "--until", "2001-01-01T00:00Z"], "in the past"),
                      (["--for", "2h"], "at least one matcher")]:
        assert await asyncio.to_thread(ews, "silences", "add", *bad, "--by", "A", "--reason", "r") == 2
        assert says in capsys.readouterr().err
    assert await asyncio.to_thread(ews, "silences", "list") == 0
    listed = capsys.readouterr().out
    assert listed.startswith("1\tactive\tcounty = 42 (Kisumu), level = WATCH")
    assert "by Achieng: mediators on site" in listed
    assert await asyncio.to_thread(ews, "silences", "expire", "1", "--by", "Otieno") == 0
    assert await asyncio.to_thread(ews, "silences", "expire", "1", "--by", "Otieno") == 1
    assert "already ended" in capsys.readouterr().err
    assert await asyncio.to_thread(ews, "silences", "expire", "99", "--by", "Otieno") == 1
    assert "no silence 99" in capsys.readouterr().err
    assert await asyncio.to_thread(ews, "silences", "list") == 0
    assert "no silences in force" in capsys.readouterr().out
    assert await asyncio.to_thread(ews, "silences", "list", "--all") == 0
    assert "expired by Otieno" in capsys.readouterr().out
    assert await silences_pool.fetchval("SELECT count(*) FROM silences") == 1  # expired, never deleted
    audit = await silences_pool.fetch("SELECT actor, action, subject, detail FROM audit_log ORDER BY id")
    assert [(a["actor"], a["action"], a["subject"]) for a in audit] == [
        ("Achieng", "silence.created", "silence:1"), ("Otieno", "silence.expired", "silence:1")]
    assert json.loads(audit[0]["detail"])["reason"] == "mediators on site"


async def test_api_adds_lists_and_expires_silences(silences_pool: asyncpg.Pool, settings: Settings) -> None:
    guarded = settings.replace(api_token="s3cret-api-token")
    async with TestClient(TestServer(create_app(guarded))) as client:
        auth = {"Authorization": "Bearer s3cret-api-token"}
        body = {"matchers": ["county = Kisumu", "level =~ WATCH|WARNING"], "duration": "2h", "by": "Achieng",
                "reason": "known dispute"}
        assert (await client.post("/api/v1/silences", json=body)).status == 401
        made = await client.post("/api/v1/silences", json=body, headers=auth)
        assert made.status == 201, await made.text()
        silence = await made.json()
        assert silence["state"] == "active" and silence["matchers"] == ["county = 42", "level =~ WATCH|WARNING"]
        for bad, status, says in [
                ({**body, "matchers": ["county = Atlantis"]}, 400, "unknown county"),
                ({**body, "matchers": []}, 400, "'matchers'"),
                ({**body, "duration": "soon"}, 400, "'duration'"),
                ({**body, "ends_at": "2027-01-01T00:00:00+03:00"}, 400, "one of them"),
                ({k: v for k, v in body.items() if k != "by"}, 400, "'by'"),
                ({**body, "colour": "red"}, 400, "unknown field"),
                ({**body, "starts_at": "yesterday"}, 400, "'starts_at'"),
                ([1, 2], 400, "JSON object")]:
            answer = await client.post("/api/v1/silences", json=bad, headers=auth)
            assert answer.status == status and says in (await answer.json())["error"], (bad, await answer.text())
        answer = await client.post("/api/v1/silences", data="{", headers={**auth, "Content-Type": "text/plain"})
        assert answer.status == 415
        listed = await (await client.get("/api/v1/silences", headers=auth)).json()
        assert [s["id"] for s in listed["silences"]] == [silence["id"]]
        assert (await client.get("/api/v1/silences?state=soon", headers=auth)).status == 400
        expire = f"/api/v1/silences/{silence['id']}/expire"
        assert (await client.post(expire, json={}, headers=auth)).status == 400
        done = await client.post(expire, json={"by": "Otieno"}, headers=auth)
        assert done.status == 200 and (await done.json())["expired_by"] == "Otieno"
        again = await client.post(expire, json={"by": "Otieno"}, headers=auth)
        assert again.status == 409 and "already ended" in (await again.json())["error"]
        assert (await client.post("/api/v1/silences/999/expire", json={"by": "O"}, headers=auth)).status == 404
        assert (await client.post("/api/v1/silences/x/expire", json={"by": "O"}, headers=auth)).status == 400
        assert (await (await client.get("/api/v1/silences", headers=auth)).json())["silences"] == []
        every = await (await client.get("/api/v1/silences?state=all", headers=auth)).json()
        assert every["silences"][0]["state"] == "expired"
    audit = await silences_pool.fetch("SELECT actor, action, detail FROM audit_log ORDER BY id")
    assert [(a["actor"], a["action"]) for a in audit] == [("Achieng", "silence.created"),
                                                          ("Otieno", "silence.expired")]
    assert json.loads(audit[0]["detail"])["via"] == "api:api_token"
