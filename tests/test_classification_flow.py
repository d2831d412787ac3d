"""Classification after the commit, sensitive reports, incidents and review, against the real app and database."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from ews.cli.model import training_set
from ews.core.settings import Settings
from ews.db.repo.corrections import type_corrections
from ews.understand.artifact import read_manifest
from ews.web.app import create_app
from ews.web.appkeys import CLASSIFICATION
from rules.classify.corpus import Labelled
from tests.conftest import REPORTER_PHONES
from tests.helpers import eventually, placed, send_report

API_TOKEN = "api-token-" + "5" * 20
CLEARED_TOKEN = "cleared-token-" + "6" * 20
OPEN = {"Authorization": f"Bearer {API_TOKEN}"}
CLEARED = {"Authorization": f"Bearer {CLEARED_TOKEN}"}


def _settings(settings: Settings, **changes: object) -> Settings:
    # Incidents as the service groups them by default (the suite's settings keep every report apart).
    changes = {"incident_window": 7200.0, **changes}
    return settings.replace(api_token=API_TOKEN, sensitive_api_token=CLEARED_TOKEN, **changes)


@pytest.fixture
async def app_client(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[TestClient]:
    """The app with its classifier, an API token and a cleared token."""
    async with TestClient(TestServer(create_app(_settings(settings)))) as client:
        yield client


@pytest.fixture(params=[False, True], ids=["thread", "worker process"])
async def either_client(request: pytest.FixtureRequest, pool: asyncpg.Pool,
                        settings: Settings) -> AsyncIterator[TestClient]:
    """The app classifying in a thread, and in its worker process."""
    async with TestClient(TestServer(create_app(_settings(settings, classify_worker=request.param)))) as client:
        yield client


@pytest.fixture
async def unclassified_client(pool: asyncpg.Pool, settings: Settings, tmp_path: Path) -> AsyncIterator[TestClient]:
    """The app without a model: reports are stored but never classified (the seconds before classification)."""
    async with TestClient(TestServer(create_app(_settings(settings, model_file=tmp_path / "no.skops")))) as client:
        yield client


async def _reports(client: TestClient, headers: dict[str, str]) -> list[dict[str, object]]:
    response = await client.get("/api/v1/reports", headers=headers)
    assert response.status == 200
    return list((await response.json())["reports"])


async def _all_classified(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT count(*) > 0 AND bool_and(classified_at IS NOT NULL) FROM reports"))


async def test_a_sensitive_report_is_hidden_from_its_first_moment(unclassified_client: TestClient,
                                                                  pool: asyncpg.Pool) -> None:
    client = unclassified_client
    assert CLASSIFICATION not in client.app
    await send_report(client, "Msichana amebakwa karibu na mto Kondele Kisumu")
    await send_report(client, "Fujo Kisumu sokoni")
    # Hidden from its first moment: before the placing stage has read its text, every report is.
    assert "Msichana" not in str(await _reports(client, OPEN))
    await eventually(lambda: pool.fetchval("SELECT bool_and(understood) FROM reports"))
    assert await pool.fetchval("SELECT count(*) FROM reports WHERE classified_at IS NULL") == 2
    hidden_id = await pool.fetchval("SELECT id FROM reports WHERE sensitive")
    assert hidden_id is not None
    visible = await _reports(client, OPEN)
    assert [r["body"] for r in visible] == ["Fujo Kisumu sokoni"]
    assert (await client.get(f"/api/v1/reports/{hidden_id}", headers=OPEN)).status == 404
    # Not even its existence: the same answer as for a report that is not there.
    assert (await client.get("/api/v1/reports/999999", headers=OPEN)).status == 404
    assert (await client.patch(f"/api/v1/reports/{hidden_id}", json={"sensitive": False},
                               headers=OPEN)).status == 404
    cleared = await _reports(client, CLEARED)
    assert len(cleared) == 2 and cleared[0]["sensitive"] is False and cleared[1]["sensitive"] is True
    assert (await client.get(f"/api/v1/reports/{hidden_id}", headers=CLEARED)).status == 200
    assert (await client.get("/api/v1/reports", headers={"Authorization": "Bearer forged"})).status == 401


async def test_reports_are_classified_after_the_commit(either_client: TestClient, pool: asyncpg.Pool,
                                                       settings: Settings) -> None:
    client = either_client
    texts = ["Maze msee amezimwa na mbogi Kayole Nairobi", "Wamechoma nyumba 10 Molo Nakuru usiku",
             "pls help raiders wameiba ng'ombe 40 hapa Baringo sasa", "habari yako", "Dem amebakwa Kondele Kisumu"]
    for text in texts:
        await send_report(client, text)
    await eventually(lambda: _all_classified(pool))
    version = read_manifest(settings.model_file).version
    cleared = {r["body"]: r for r in await _reports(client, CLEARED)}
    assert cleared[texts[0]]["incident_type"] == "killing" and cleared[texts[0]]["severity"] == "critical"
    assert cleared[texts[0]]["language"] == "sheng"
    assert cleared[texts[1]]["incident_type"] == "arson_property"
    assert cleared[texts[2]]["incident_type"] == "cattle_raiding" and cleared[texts[2]]["language"] == "mixed"
    assert cleared[texts[3]]["incident_type"] == "not_incident" and cleared[texts[3]]["incident_id"] is None
    assert cleared[texts[4]]["incident_type"] == "sgbv" and cleared[texts[4]]["sensitive"] is True
    for row in cleared.values():
        assert row["model_version"] == version and 0 < float(row["type_confidence"]) <= 1  # type: ignore[arg-type]
        assert row["review_status"] == "new" and isinstance(row["needs_review"], bool)
        assert "sender" not in json.dumps(row) and not any(p in json.dumps(row) for p in REPORTER_PHONES)
    assert texts[4] not in {r["body"] for r in await _reports(client, OPEN)}


async def test_a_reporters_repeats_never_corroborate(app_client: TestClient, pool: asyncpg.Pool) -> None:
    client = app_client
    one, other = REPORTER_PHONES[0], REPORTER_PHONES[1]
    for text in ("Mtu amepigwa vibaya sokoni Kisumu anatoka damu", "Bado wanampiga mtu sokoni Kisumu",
                 "Mtu anapigwa sasa hivi sokoni Kisumu"):
        await send_report(client, text, sender=one)
    await eventually(lambda: _all_classified(pool))
    incident = await pool.fetchrow("SELECT * FROM incidents")
    assert incident["reports"] == 3 and incident["senders"] == 1  # three messages, one witness
    await send_report(client, "they are beating a man at Kisumu market right now", sender=other)
    await eventually(lambda: _all_classified(pool))
    assert await pool.fetchval("SELECT count(*) FROM incidents") == 1
    incident = await pool.fetchrow("SELECT * FROM incidents")
    assert incident["reports"] == 4 and incident["senders"] == 2
    assert incident["type_group"] == "violence" and incident["place_level"] == "county"
    linked = await pool.fetchval("SELECT count(*) FROM reports WHERE incident_id = $1", incident["id"])
    assert linked == 4


async def test_an_incident_counted_batch_by_batch_equals_a_recount_from_its_links(
        app_client: TestClient, pool: asyncpg.Pool) -> None:
    # The stage adds each batch to the incident's counts rather than recounting it: a sender seen in an
    # earlier batch must not corroborate again, and the counts must equal a recount from the links.
    one, other = REPORTER_PHONES[0], REPORTER_PHONES[1]
    sends = [(one, "Mtu amepigwa vibaya sokoni Kisumu anatoka damu"), (one, "Bado wanampiga mtu sokoni Kisumu"),
             (other, "they are beating a man at Kisumu market right now"), (one, "Mtu anapigwa sasa hivi Kisumu"),
             (other, "the man beaten at Kisumu market is bleeding badly")]
    for sender, text in sends:  # one at a time: each in a batch of its own
        await send_report(app_client, text, sender=sender)
        await eventually(lambda: _all_classified(pool))
    incident = await pool.fetchrow("SELECT * FROM incidents")
    recount = await pool.fetchrow("SELECT count(*) AS reports, count(DISTINCT sender_hash) AS senders, "
                                  "min(received_at) AS first_at, max(received_at) AS last_at "
                                  "FROM reports WHERE incident_id = $1", incident["id"])
    assert (incident["reports"], incident["senders"]) == (5, 2)
    assert dict(recount) == {k: incident[k] for k in ("reports", "senders", "first_at", "last_at")}


async def test_review_and_correction_round_trip(app_client: TestClient, pool: asyncpg.Pool) -> None:
    client = app_client
    await send_report(client, "Kijana amepigwa na kundi sokoni Kisumu amejeruhiwa", sender=REPORTER_PHONES[0])
    await send_report(client, "a man is being beaten at Kisumu market", sender=REPORTER_PHONES[1])
    await eventually(lambda: _all_classified(pool))
    first, second = [r["id"] for r in await pool.fetch("SELECT id FROM reports ORDER BY id")]
    response = await client.patch(f"/api/v1/reports/{first}", headers=OPEN,
                                  json={"incident_type": "cattle_raiding", "review_status": "verified",
                                        "reviewer": "Amina"})
    assert response.status == 200, await response.text()
    row = await response.json()
    assert row["incident_type"] == "cattle_raiding" and row["review_status"] == "verified"
    assert row["type_confidence"] is None and row["needs_review"] is False
    corrections = await pool.fetch("SELECT field, old_value, new_value, actor FROM report_corrections "
                                   "WHERE report_id = $1 ORDER BY field", first)
    assert [(c["field"], c["new_value"], c["actor"]) for c in corrections] == [
        ("incident_type", "cattle_raiding", "Amina"), ("review_status", "verified", "Amina")]
    audit = await pool.fetchrow("SELECT * FROM audit_log WHERE action = 'report.review'")
    assert audit["actor"] == "Amina" and audit["subject"] == f"report:{first}"
    assert json.loads(audit["detail"])["via"] == "api_token"
    # Re-typed into another group, it left the fight's incident, which now counts one sender.
    groups = {r["type_group"]: r for r in await pool.fetch("SELECT * FROM incidents")}
    assert groups["violence"]["senders"] == 1 and groups["communal"]["reports"] == 1
    # A rejected report corroborates nothing.
    assert (await client.patch(f"/api/v1/reports/{second}", headers=OPEN,
                               json={"review_status": "rejected"})).status == 200
    assert await pool.fetchval("SELECT reports FROM incidents WHERE type_group = 'violence'") == 0
    # The correction is training data for `ews model train --with-corrections`.
    learnt = await type_corrections(pool)
    text = "Kijana amepigwa na kundi sokoni Kisumu amejeruhiwa"
    assert learnt == [(text, "cattle_raiding")]
    rows = training_set([Labelled("physical_assault", "sw", text)], learnt)
    assert [(r.type, r.text) for r in rows] == [("cattle_raiding", text)]
    # Marking sensitive hides it from uncleared callers; only a cleared caller can make it visible again.
    assert (await client.patch(f"/api/v1/reports/{first}", headers=OPEN, json={"sensitive": True})).status == 200
    assert (await client.get(f"/api/v1/reports/{first}", headers=OPEN)).status == 404
    assert (await client.patch(f"/api/v1/reports/{first}", headers=CLEARED,
                               json={"sensitive": False})).status == 200
    assert (await client.get(f"/api/v1/reports/{first}", headers=OPEN)).status == 200


@pytest.mark.parametrize(("path", "body", "headers", "status"), [
    ("/api/v1/reports/1", "not json", {"Content-Type": "application/json"}, 400),
    ("/api/v1/reports/1", "[1, 2]", {"Content-Type": "application/json"}, 400),
    ("/api/v1/reports/1", b"\xff\xfe{}", {"Content-Type": "application/json"}, 400),
    ("/api/v1/reports/1", "review_status=verified", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ("/api/v1/reports/1", json.dumps({"reviewer": "x" * 70_000}), {"Content-Type": "application/json"}, 413),
    ("/api/v1/reports/1", json.dumps({"colour": "red"}), {"Content-Type": "application/json"}, 400),
    ("/api/v1/reports/1", json.dumps({}), {"Content-Type": "application/json"}, 400),
    ("/api/v1/reports/1", json.dumps({"review_status": "done"}), {"Content-Type": "application/json"}, 400),
    ("/api/v1/reports/1", json.dumps({"duplicate_of": 1}), {"Content-Type": "application/json"}, 409),
    ("/api/v1/reports/1", json.dumps({"duplicate_of": 424242}), {"Content-Type": "application/json"}, 409),
    ("/api/v1/reports/424242", json.dumps({"review_status": "verified"}), {"Content-Type": "application/json"}, 404),
    ("/api/v1/reports/abc", json.dumps({"review_status": "verified"}), {"Content-Type": "application/json"}, 400),
    ("/api/v1/reports/99999999999999999999", json.dumps({"review_status": "verified"}),
     {"Content-Type": "application/json"}, 400),
])
async def test_hostile_reviews_get_a_clear_4xx(app_client: TestClient, pool: asyncpg.Pool, path: str,
                                               body: str | bytes, headers: dict[str, str], status: int) -> None:
    await send_report(app_client, "Fujo Kisumu")
    await placed(pool)  # else report 1 is still kept from callers (404) as possibly sensitive
    response = await app_client.patch(path, data=body, headers={**OPEN, **headers})
    assert response.status == status, await response.text()
    assert "error" in await response.json()
    forged = await app_client.patch("/api/v1/reports/1", json={"review_status": "verified"},
                                    headers={"Authorization": "Bearer nope"})
    assert forged.status == 401


async def test_the_longest_note_the_schema_allows_is_accepted(app_client: TestClient, pool: asyncpg.Pool) -> None:
    await send_report(app_client, "Fujo Kisumu")
    await placed(pool)  # until then it is kept from callers as possibly sensitive
    # 2,000 astral characters, as a JSON encoder escapes them (surrogate pairs): 24 KB on the wire.
    body = json.dumps({"review_status": "verified", "reviewer": "Amina", "note": "\U0001F600" * 2000})
    assert len(body) > 24_000
    response = await app_client.patch("/api/v1/reports/1", data=body,
                                      headers={**OPEN, "Content-Type": "application/json"})
    assert response.status == 200, await response.text()


_TINY_CORPUS = """type\tlanguage\ttext
physical_assault\tsw\tmtu amepigwa sokoni
physical_assault\ten\ta man was beaten at the market
physical_assault\tsheng\tmsee amechapwa stage
cattle_raiding\tsw\twezi wa mifugo wameiba ng'ombe
cattle_raiding\ten\traiders stole cattle at night
cattle_raiding\tsheng\twasee wamekula ng'ombe za boma
not_incident\ten\thello how are you
not_incident\tsw\thabari za asubuhi
not_incident\tsheng\tniaje msee
"""


async def test_model_train_with_corrections_learns_an_analysts_retyping_and_evaluate_shows_the_change(
        app_client: TestClient, pool: asyncpg.Pool, database_url: str, tmp_path: Path) -> None:
    # End to end: a report re-typed through the API is read back from the database by `ews model train
    # --with-corrections` (a small corpus keeps the training quick), and `ews model evaluate` scores the
    # model with and without the corrections on the same split.
    from tests.test_cli import cli_env, run

    text = "Kijana amepigwa na kundi sokoni Kisumu amejeruhiwa"
    await send_report(app_client, text)
    await eventually(lambda: _all_classified(pool))
    report_id = await pool.fetchval("SELECT id FROM reports WHERE body = $1", text)
    patched = await app_client.patch(f"/api/v1/reports/{report_id}", headers=CLEARED,
                                     json={"incident_type": "cattle_raiding", "reviewer": "Amina"})
    assert patched.status == 200, await patched.text()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tiny.tsv").write_text(_TINY_CORPUS, encoding="utf-8")
    heldout = tmp_path / "heldout.tsv"
    # The re-typed text, and two lines of the corpus itself (which either model gets right).
    heldout.write_text(f"type\tlanguage\ttext\ncattle_raiding\tsw\t{text}\nnot_incident\ten\thello how are you\n"
                       "physical_assault\ten\ta man was beaten at the market\n", encoding="utf-8")
    model = tmp_path / "retrained.skops"
    env = {**cli_env(database_url, tmp_path), "EWS_MODEL_FILE": str(model)}
    trained = run("model", "train", "--with-corrections", "--corpus", str(corpus), "--out", str(model), env=env)
    assert trained.returncode == 0, trained.stderr
    assert "(1 corrections)" in trained.stdout and read_manifest(model).corrections == 1
    assert read_manifest(model).examples == 10  # the nine corpus lines and the correction
    evaluated = run("model", "evaluate", "--heldout", str(heldout), "--corpus", str(corpus),
                    "--out", str(tmp_path / "report.txt"), env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "incl. 1 corrections" in evaluated.stdout
    # The held-out split holds the re-typed text: only a model that learnt the correction gets it right.
    change = re.search(r"without corrections: macro-F1 [0-9.]+ .*; change ([+-][0-9.]+)", evaluated.stdout)
    assert change is not None and float(change.group(1)) > 0, evaluated.stdout
    assert text not in trained.stdout + trained.stderr  # the command prints counts, never a report's text


async def test_a_report_moved_to_another_place_by_hand_moves_to_that_places_incident(
        app_client: TestClient, pool: asyncpg.Pool) -> None:
    for sender, text in ((REPORTER_PHONES[0], "Mtu amepigwa vibaya sokoni Kisumu anatoka damu"),
                         (REPORTER_PHONES[1], "they are beating a man at Kisumu market right now")):
        await send_report(app_client, text, sender=sender)
    await eventually(lambda: _all_classified(pool))
    kisumu = await pool.fetchrow("SELECT * FROM incidents")
    assert (kisumu["place_code"], kisumu["reports"], kisumu["senders"]) == ("42", 2, 2)
    moved = await pool.fetchval("SELECT id FROM reports WHERE body LIKE 'they are beating%'")
    response = await app_client.patch(f"/api/v1/reports/{moved}", headers=CLEARED,
                                      json={"county_code": 32, "by": "Amina", "note": "the caller said Nakuru"})
    assert response.status == 200, await response.text()
    incidents = {r["place_code"]: r for r in await pool.fetch("SELECT * FROM incidents")}
    assert (incidents["42"]["reports"], incidents["42"]["senders"]) == (1, 1)  # it left Kisumu's incident
    assert (incidents["32"]["reports"], incidents["32"]["county_code"]) == (1, 32)  # and formed Nakuru's
    assert await pool.fetchval("SELECT incident_id FROM reports WHERE id = $1", moved) == incidents["32"]["id"]


async def test_stopping_the_stage_while_it_is_woken_still_stops_it(pool: asyncpg.Pool) -> None:
    # Python 3.11's asyncio.wait_for returns the inner result when its task is cancelled in the same loop
    # step as the inner wait completes, swallowing the cancellation: a stage stopped just as a commit woke it
    # then ran on for ever, and the app's stop (two full test runs) hung on it.
    from datetime import timedelta

    from ews.understand.stage import ClassificationStage

    stage = ClassificationStage(pool, None, model_version="test", review_below=0.6,
                                incident_window=timedelta(hours=2), interval=0.05)
    stage.start()
    await asyncio.sleep(0.2)  # past its first pass, waiting to be woken
    task = stage._task
    assert task is not None
    stage.wake()  # a commit wakes it, and in the same loop step the app stops it
    task.cancel()
    await asyncio.wait({task}, timeout=5)
    assert task.done(), "the stage ran on after it was cancelled"
    await stage.stop()
