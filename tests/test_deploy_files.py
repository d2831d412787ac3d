"""docker-compose.yml and .env.example: refuse to run open, document every variable, restart on failure."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
COMPOSE = (ROOT / "docker-compose.yml").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()


def test_env_example_names_every_variable_compose_reads() -> None:
    read = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE))
    listed = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE, re.M))
    assert read and read - listed == set()


def test_compose_refuses_to_start_without_keys_or_api_token() -> None:
    for name in ("EWS_SENDER_KEY", "EWS_CONTACT_KEY", "EWS_API_TOKEN"):
        assert re.search(rf"{name}: \$\{{{name}:\?", COMPOSE), name


def test_every_key_in_env_example_says_how_to_make_it() -> None:
    for name in ("EWS_SENDER_KEY", "EWS_CONTACT_KEY", "EWS_API_TOKEN"):
        before = ENV_EXAMPLE.split(f"\n{name}=")[0].rsplit("\n\n", 1)[-1]
        assert "python -c" in before, name


def test_compose_restarts_both_services_and_mounts_rules_and_responders() -> None:
    assert COMPOSE.count("restart: unless-stopped") == 2
    assert ":/etc/ews/rules.toml:ro" in COMPOSE and "EWS_RULES_FILE: /etc/ews/rules.toml" in COMPOSE
    assert ":/data:ro" in COMPOSE
