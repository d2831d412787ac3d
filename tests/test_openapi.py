"""The OpenAPI 3.1 document against the running service: schemathesis finds no 500 and no answer that
breaks the schema; the document names every route the app serves."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ews.web.openapi import DOCUMENT
from tests.test_cli import ROOT, cli_env, run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def running(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`ews serve` on a free port against the test database: (base URL, a partner token)."""
    tmp = tmp_path_factory.mktemp("openapi")
    port = _free_port()
    # No model file, so no classification stage: this server outlives single tests, whose TRUNCATE of the
    # shared test database would otherwise deadlock against the stage's batch transactions now and then.
    env = {**os.environ, **cli_env(database_url, tmp), "EWS_PORT": str(port), "EWS_LOG_LEVEL": "WARNING",
           "EWS_FORM_RATE_LIMIT": "100000", "EWS_MODEL_FILE": str(tmp / "no-model.skops"),
           "EWS_CLASSIFY_WORKER": "false"}
    made = run("tokens", "create", "--partner", "schemathesis", env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.splitlines()[-1]
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "ews.cli.main", "serve"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("ews serve did not start: " + Path(log.name).read_text()[-2000:])
        yield base, token
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


# The document the service serves (a test below checks it is served unchanged). schemathesis' lazy
# from_fixture loader does not run under pytest 9, so the document is loaded here and the requests go
# to the running service.
schema = schemathesis.openapi.from_dict(DOCUMENT)


@schema.parametrize()
# Derandomized: the same examples on every run, so CI is repeatable. A random run once found PATCH
# /api/v1/reports/{id} refusing a 2,000-character astral note as too large (413: escaped, it was over the
# 16 KB body limit); the limit now fits the largest body the schema allows (test_api).
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_running_service_keeps_its_documented_promises(case: Any, running: tuple[str, str]) -> None:
    base, token = running
    if case.path == "/api/v1/openapi.json":
        assert requests.get(base + case.path, timeout=10).json() == json.loads(json.dumps(DOCUMENT))
    # A place correction whose codes do not nest (ward 0001 in county 47) is schema-valid, since JSON Schema
    # cannot say which ward lies in which county, and is rightly refused with 400: for that one operation
    # the "schema-valid data is accepted" check does not apply (every other check still does).
    # Silences likewise: a matcher string is checked against the labels and counties there are.
    excluded = [positive_data_acceptance] if case.operation.method.upper() == "PATCH" or \
        (case.path.startswith("/api/v1/silences") and case.operation.method.upper() == "POST") else []
    case.call_and_validate(base_url=base, headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded)


async def test_the_document_names_every_route_the_app_serves(client: TestClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    served = {(route.method.lower(), route.resource.canonical) for route in client.app.router.routes()
              if route.resource is not None and route.method != "HEAD"}
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    assert served == described
