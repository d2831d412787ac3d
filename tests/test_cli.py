"""The `ews` command, run as a real process: help, migrate, responders import, serve, simulate."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import asyncpg
import psutil
import pytest
from aiohttp.test_utils import TestClient

from ews.cli.simulate import sign, twilio_form
from tests.conftest import (
    AT_TOKEN,
    CONTACT_KEY,
    PUBLIC_URL,
    REPORTER_PHONES,
    RESPONDER_PHONES,
    SENDER_KEY,
    TWILIO_TOKEN,
)
from tests.helpers import eventually
from tests.loopback import FakeAfricasTalkingApi

EWS = [sys.executable, "-m", "ews.cli.main"]
ROOT = Path(__file__).parent.parent


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `ews ARGS` to completion."""
    return subprocess.run([*EWS, *args], capture_output=True, text=True, timeout=120, cwd=ROOT,  # noqa: S603
                          env={**os.environ, **(env or {})}, check=False)


def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for a CLI run against the test database."""
    # No classification worker process: spawning one re-imports scikit-learn and the model for seconds in
    # every `ews serve` these tests start; the worker has its own test (test_classification_flow).
    return {"EWS_DATABASE_URL": database_url, "EWS_SENDER_KEY": SENDER_KEY, "EWS_CONTACT_KEY": CONTACT_KEY,
            "EWS_DATA_DIR": str(tmp_path), "EWS_CLASSIFY_WORKER": "false"}


@pytest.mark.parametrize("args", [[], ["serve"], ["migrate"], ["responders"], ["responders", "import"],
                                  ["places", "evaluate"], ["places", "corrections"],
                                  ["simulate"], ["monitors"], ["monitors", "import"]])
def test_every_command_explains_itself(args: list[str]) -> None:
    result = run(*args, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: ews" in result.stdout and len(result.stdout.splitlines()) >= 4


def test_migrate_is_idempotent(database_url: str, tmp_path: Path) -> None:
    result = run("migrate", env=cli_env(database_url, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


async def test_responders_import_csv_then_toml_updates(pool: asyncpg.Pool, database_url: str,
                                                       tmp_path: Path) -> None:
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("name,phone,county,role,language\n"
                        f"Achieng,{RESPONDER_PHONES[0]},Kisumu,csic,sw\n"
                        f"Room,{RESPONDER_PHONES[1]},national,analyst,en\n")
    result = run("responders", "import", str(csv_file), env=cli_env(database_url, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "2 added, 0 updated" in result.stdout
    toml_file = tmp_path / "people.toml"
    toml_file.write_text(f'[[responder]]\nname = "Achieng Otieno"\nphone = "0{RESPONDER_PHONES[0][4:]}"\n'
                         'county = 42\nrole = "mediator"\nlanguage = "en"\n')
    result = run("responders", "import", str(toml_file), env=cli_env(database_url, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "0 added, 1 updated" in result.stdout, "the same number written locally is the same person"
    row = await pool.fetchrow("SELECT name, county_code, role, language FROM responders WHERE county_code = 42")
    assert dict(row) == {"name": "Achieng Otieno", "county_code": 42, "role": "mediator", "language": "en"}


@pytest.mark.parametrize(("content", "suffix", "message"), [
    ("name,phone,county,role,language\nA,12,Kisumu,csic,en\n", ".csv", "phone is not a valid number"),
    ("name,phone,county,role,language\nA,+254700000001,Atlantis,csic,en\n", ".csv", "unknown county"),
    ("name,phone,county,role,language\nA,+254700000001,99,csic,en\n", ".csv", "not 1-47"),
    ("name,phone,county,role,language\nA,+254700000001,Kisumu,king,en\n", ".csv", "role 'king'"),
    ("name,phone,county,role,language\nA,+254700000001,Kisumu,csic,fr\n", ".csv", "en or sw"),
    ("name,phone,county,role,language\n", ".csv", "no responders"),
    ("[[responder]\n", ".toml", "not valid TOML"),
    ("a,b\n", ".xlsx", "unknown format"),
])
def test_bad_responder_files_are_refused_with_a_reason(database_url: str, tmp_path: Path, content: str,
                                                       suffix: str, message: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    result = run("responders", "import", str(path), env=cli_env(database_url, tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert "+254700000001" not in result.stderr + result.stdout


async def test_simulate_raises_kisumu_on_a_running_service(client: TestClient, pool: asyncpg.Pool) -> None:
    url = str(client.make_url("")).rstrip("/")
    process = await asyncio.create_subprocess_exec(
        *EWS, "simulate", "--url", url, "--minutes", "0.1", "--auth-token", TWILIO_TOKEN, "--public-url",
        PUBLIC_URL, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    output = stdout.decode()
    assert "HTTP" not in output, output  # every webhook answered 200
    assert "Kisumu=ALERT" in output
    assert await pool.fetchval("SELECT count(*) FROM reports") == 24
    levels = await pool.fetch("SELECT DISTINCT county_code FROM engine_states WHERE level > 0")
    assert [r["county_code"] for r in levels] == [42], "noise elsewhere must stay NORMAL"


async def test_simulate_through_africas_talking_raises_kisumu_and_receipts_go_out(
        at_client: TestClient, pool: asyncpg.Pool, fake_at: FakeAfricasTalkingApi) -> None:
    url = str(at_client.make_url("")).rstrip("/")
    process = await asyncio.create_subprocess_exec(
        *EWS, "simulate", "--channel", "africastalking", "--url", url, "--minutes", "0.1", cwd=ROOT,
        env={**os.environ, "EWS_AT_CALLBACK_TOKEN": AT_TOKEN}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    output = stdout.decode()
    assert "HTTP" not in output and "Kisumu=ALERT" in output, output
    assert "receipts through the outbox:" in output and "via africastalking_sms" in output
    assert await pool.fetchval("SELECT count(*) FROM reports WHERE channel = 'at_sms'") == 24
    await fake_at.wait_for(24)


async def test_simulate_walks_ussd_sessions_that_raise_kisumu(at_client: TestClient, pool: asyncpg.Pool) -> None:
    url = str(at_client.make_url("")).rstrip("/")
    process = await asyncio.create_subprocess_exec(
        *EWS, "simulate", "--channel", "ussd", "--url", url, "--minutes", "0.1", cwd=ROOT,
        env={**os.environ, "EWS_AT_CALLBACK_TOKEN": AT_TOKEN}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    output = stdout.decode()
    assert "HTTP" not in output and "Kisumu=ALERT" in output, output
    assert "END Asante" in output or "END Thank you" in output
    rows = await pool.fetch("SELECT county_code, incident_type FROM reports WHERE channel = 'at_ussd'")
    assert len(rows) == 24 and {r["incident_type"] for r in rows} <= {"armed_attack", "threat_intimidation"}


def test_simulate_through_africas_talking_needs_the_callback_token() -> None:
    result = run("simulate", "--channel", "africastalking", "--minutes", "0.01",
                 env={"EWS_AT_CALLBACK_TOKEN": ""})
    assert result.returncode == 2 and "EWS_AT_CALLBACK_TOKEN" in result.stderr


async def test_monitors_import_stores_them_hashed_and_encrypted(pool: asyncpg.Pool, database_url: str,
                                                              tmp_path: Path) -> None:
    result = run("monitors", "import", str(ROOT / "monitors.sample.csv"), env=cli_env(database_url, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "3 added, 0 updated" in result.stdout
    rows = await pool.fetch("SELECT name, county_code, ward_code, organisation, phone_hash FROM monitors ORDER BY id")
    assert [(r["county_code"], r["ward_code"]) for r in rows] == [(42, "0217"), (1, None), (32, None)]
    assert all("254" not in r["phone_hash"] for r in rows)
    toml_file = tmp_path / "monitors.toml"
    toml_file.write_text('[[monitor]]\nname = "Akinyi O."\nphone = "0700 000 101"\ncounty = "KSM"\n')
    result = run("monitors", "import", str(toml_file), env=cli_env(database_url, tmp_path))
    assert "0 added, 1 updated" in result.stdout, result.stderr


@pytest.mark.parametrize(("content", "message"), [
    ("name,phone,county\nA,12,Kisumu\n", "phone is not a valid number"),
    ("name,phone,county\nA,+254700000001,\n", "county is missing"),
    ("name,phone,county,ward\nA,+254700000001,Kisumu,217\n", "ward must be"),
    ("name,phone,county\n", "no monitors"),
])
def test_bad_monitor_files_are_refused_with_a_reason(database_url: str, tmp_path: Path, content: str,
                                                     message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = run("monitors", "import", str(path), env=cli_env(database_url, tmp_path))
    assert result.returncode == 2 and message in result.stderr
    assert "+254700000001" not in result.stderr + result.stdout


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_serve_on_embedded_postgres_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)  # the embedded server runs as an unprivileged user when we are root
    port = free_port()
    env = {**os.environ, "EWS_DATA_DIR": str(tmp_path / "data"), "EWS_PORT": str(port),
           "EWS_LOG_LEVEL": "WARNING", "EWS_RULES_FILE": str(ROOT / "rules.toml")}
    env.pop("EWS_DATABASE_URL", None)
    base = f"http://127.0.0.1:{port}"

    async def serve_once(body: str, expected: int) -> int:
        process = await asyncio.create_subprocess_exec(*EWS, "serve", cwd=ROOT, env={**env, "EWS_LOG_LEVEL": "INFO"},
                                                       stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.PIPE)
        try:
            async with aiohttp.ClientSession() as session:
                await eventually(lambda: _healthy(session, base), timeout=60)
                form = {"MessageSid": "SM" + body.encode().hex()[:32], "From": "+254712345678", "Body": body}
                async with session.post(base + "/ingest/twilio/sms", data=form) as response:
                    assert response.status == 200
                # Listed once the placing stage has read it (until then it is hidden as sensitive): wait for
                # the number expected, and return what is listed, so a lost report still fails below.
                count = 0
                for _ in range(100):
                    async with session.get(base + "/api/v1/reports") as response:
                        count = len((await response.json())["reports"])
                    if count >= expected:
                        break
                    await asyncio.sleep(0.1)
                if count == 1:
                    # An import beside the running service shares its embedded server and must say so.
                    people = tmp_path / "people.csv"
                    people.write_text(f"name,phone,county,role,language\nA,{RESPONDER_PHONES[0]},Kisumu,csic,sw\n")
                    imported = await asyncio.to_thread(run, "responders", "import", str(people),
                                                       env={**env, "EWS_LOG_LEVEL": "INFO"})
                    assert imported.returncode == 0, imported.stderr
                    assert "embedded PostgreSQL left running for the other process" in imported.stderr
                    assert "embedded PostgreSQL stopped" not in imported.stderr
                    assert await _healthy(session, base), "the service's database was stopped under it"
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0
        assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists(), "PostgreSQL was left running"
        assert "embedded PostgreSQL stopped" in err.decode() and "left running" not in err.decode()
        return count

    assert await serve_once("Fujo Kisumu", 1) == 1
    assert await serve_once("Fujo Nakuru", 2) == 2, "data from the first run is kept"


async def _healthy(session: aiohttp.ClientSession, base: str) -> bool:
    try:
        async with session.get(base + "/healthz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def test_serve_with_two_workers_shares_the_port_and_stops_cleanly(database_url: str, pool: asyncpg.Pool,
                                                                         tmp_path: Path) -> None:
    port = free_port()
    # No model: each worker would load it while starting, and what this test is about is the port and the
    # stop (a loaded CI machine took longer than the 30 s allowed for both).
    env = {**os.environ, **cli_env(database_url, tmp_path), "EWS_PORT": str(port), "EWS_WORKERS": "2",
           "EWS_LOG_LEVEL": "WARNING", "EWS_RULES_FILE": str(ROOT / "rules.toml"),
           "EWS_MODEL_FILE": str(tmp_path / "no-model.skops")}
    base = f"http://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(*EWS, "serve", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    children: list[psutil.Process] = []
    try:
        async with aiohttp.ClientSession() as session:
            await eventually(lambda: _healthy(session, base), timeout=60)
            # Only the processes this test started: the serve process's own children, the two workers.
            children = psutil.Process(process.pid).children(recursive=True)
            assert len(children) >= 2
            for i in range(40):  # fresh connections, so both workers get some
                async with aiohttp.ClientSession() as fresh, fresh.post(
                        base + "/ingest/twilio/sms",
                        data={"MessageSid": f"SMworkers{i}", "From": "+254712345678", "Body": "Fujo Kisumu"},
                ) as response:
                    assert response.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0
    assert await pool.fetchval("SELECT count(*) FROM reports") == 40
    assert [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == [], \
        "worker processes were left running"


def test_serve_refuses_a_pool_too_small_for_its_writers(database_url: str, tmp_path: Path) -> None:
    result = run("serve", env={**cli_env(database_url, tmp_path), "EWS_DB_POOL_SIZE": "4", "EWS_INTAKE_WRITERS": "4"})
    assert result.returncode == 2
    assert "EWS_DB_POOL_SIZE (4) must be at least EWS_INTAKE_WRITERS (4) + 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_to_listen_beyond_loopback_without_an_api_token(database_url: str, tmp_path: Path) -> None:
    result = run("serve", env={**cli_env(database_url, tmp_path), "EWS_HOST": "0.0.0.0",  # noqa: S104
                               "EWS_API_TOKEN": ""})
    assert result.returncode == 2
    assert "EWS_HOST=0.0.0.0 listens beyond this machine, but EWS_API_TOKEN is unset" in result.stderr
    assert "Traceback" not in result.stderr


async def test_after_a_port_change_signed_webhooks_and_simulate_just_work(database_url: str, pool: asyncpg.Pool,
                                                                          tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, **cli_env(database_url, tmp_path), "EWS_PORT": str(port), "EWS_LOG_LEVEL": "INFO",
           "EWS_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "EWS_RULES_FILE": str(ROOT / "rules.toml")}
    env.pop("EWS_PUBLIC_URL", None)
    base = f"http://127.0.0.1:{port}"
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as log:
        process = await asyncio.create_subprocess_exec(*EWS, "serve", cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            async with aiohttp.ClientSession() as session:
                await eventually(lambda: _healthy(session, base), timeout=60)
                for signed_over, expected in ((base, 200), ("http://127.0.0.1:8080", 403)):
                    form = twilio_form("Fujo Kisumu", sender=REPORTER_PHONES[0])
                    async with session.post(base + "/ingest/twilio/sms", data=form,
                                            headers=sign(TWILIO_TOKEN, signed_over + "/ingest/twilio/sms", form),
                                            ) as response:
                        assert response.status == expected, signed_over
            # `ews simulate` reads EWS_PORT too: no --url, no --public-url, and every webhook is accepted.
            simulated = await asyncio.create_subprocess_exec(
                *EWS, "simulate", "--minutes", "0.05", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            stdout, stderr = await asyncio.wait_for(simulated.communicate(), 60)
            assert simulated.returncode == 0, stderr.decode()
            assert "HTTP" not in stdout.decode() and " ok" in stdout.decode(), stdout.decode()
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
    logged = log_file.read_text()
    url = f"http://127.0.0.1:{port}/ingest/twilio/sms"
    assert logged.count(f"webhook signatures are checked against {url}") == 1, logged
    assert f"rejected Twilio webhook: bad signature, checked against {url}" in logged
    assert "X-Twilio-Signature" not in logged and "Signature=" not in logged
    assert await pool.fetchval("SELECT count(*) FROM reports") == 1 + 24
