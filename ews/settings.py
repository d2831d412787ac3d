"""Every EWS_* setting in one table, read once at start-up."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Setting:
    """One documented setting: its environment name, type, default and meaning."""

    env: str
    field: str
    kind: str
    default: Any
    help: str
    secret: bool = False


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": _bool,
    "path": Path,
}

SETTINGS_TABLE: tuple[Setting, ...] = (
    Setting("EWS_DATABASE_URL", "database_url", "str", None,
            "PostgreSQL URL. Unset: start an embedded PostgreSQL (pgserver) under EWS_DATA_DIR.", secret=True),
    Setting("EWS_DATA_DIR", "data_dir", "path", Path(".ews"),
            "Directory for the embedded PostgreSQL's data and generated keys."),
    Setting("EWS_HOST", "host", "str", "127.0.0.1", "Address the HTTP server listens on."),
    Setting("EWS_PORT", "port", "int", 8080, "Port the HTTP server listens on."),
    Setting("EWS_WORKERS", "workers", "int", 1,
            "HTTP worker processes sharing the port (SO_REUSEPORT); each also evaluates and dispatches, "
            "coordinated through PostgreSQL locks."),
    Setting("EWS_PUBLIC_URL", "public_url", "str", "http://127.0.0.1:8080",
            "Base URL the gateways call (as they see it); Twilio signatures are checked against it."),
    Setting("EWS_LOG_LEVEL", "log_level", "str", "INFO", "Python log level (DEBUG, INFO, WARNING, ...)."),
    Setting("EWS_SENDER_KEY", "sender_key", "str", None,
            "HMAC key for hashing phone numbers. Unset: generated once into EWS_DATA_DIR/keys.json.",
            secret=True),
    Setting("EWS_CONTACT_KEY", "contact_key", "str", None,
            "Fernet key encrypting the phone numbers we must keep (responders). Unset: generated like "
            "EWS_SENDER_KEY.", secret=True),
    Setting("EWS_API_TOKEN", "api_token", "str", None,
            "When set, /api/v1/* requires 'Authorization: Bearer <token>'.", secret=True),
    Setting("EWS_RULES_FILE", "rules_file", "path", Path("rules.toml"), "Escalation rules file (TOML)."),
    Setting("EWS_EVAL_INTERVAL", "eval_interval", "float", 15.0,
            "Seconds between scheduled re-evaluations of every county (decay, hold-down timers)."),
    Setting("EWS_ENGINE_RETRY_INTERVAL", "engine_retry_interval", "float", 5.0,
            "Seconds between a follower's attempts to take over the rules engine (one process or instance "
            "evaluates at a time; the others pass their reports to it with NOTIFY)."),
    Setting("EWS_DISPATCH_INTERVAL", "dispatch_interval", "float", 5.0,
            "Seconds between scheduled sweeps of the outbox (retries; new alerts are sent at once)."),
    Setting("EWS_DISPATCH_MAX_ATTEMPTS", "dispatch_max_attempts", "int", 6,
            "Send attempts per alert message before it is dead-lettered."),
    Setting("EWS_DB_POOL_SIZE", "db_pool_size", "int", 10, "Maximum PostgreSQL connections in the pool."),
    Setting("EWS_INTAKE_BATCH_MAX", "intake_batch_max", "int", 256,
            "Most reports committed in one group-commit transaction."),
    Setting("EWS_INTAKE_WRITERS", "intake_writers", "int", 1,
            "Group-commit batches in flight at once (each keeps one pooled connection; size "
            "EWS_DB_POOL_SIZE above it). One is fastest on a nearby database; more can help when "
            "every round trip is long."),
    Setting("EWS_NOTIFIER", "notifier", "str", "console",
            "Notifier for alert SMS: 'console' (prints, sends nothing) or 'twilio_sms'."),
    Setting("EWS_TWILIO_ACCOUNT_SID", "twilio_account_sid", "str", None, "Twilio account SID (AC...)."),
    Setting("EWS_TWILIO_AUTH_TOKEN", "twilio_auth_token", "str", None,
            "Twilio auth token: signs inbound webhooks and authenticates outbound SMS. Unset: inbound "
            "webhooks are NOT authenticated (a warning is logged).", secret=True),
    Setting("EWS_TWILIO_FROM", "twilio_from", "str", None,
            "Sender for outbound Twilio SMS (E.164 number, or MG... messaging service SID)."),
    Setting("EWS_TWILIO_API_BASE", "twilio_api_base", "str", None,
            "Override of https://api.twilio.com for outbound calls (tests, proxies)."),
    Setting("EWS_SMS_VALIDITY", "sms_validity", "int", 900,
            "Seconds an alert SMS may wait in Twilio's queue before it is dropped as stale."),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """The service's configuration; build it with `Settings.from_env`."""

    database_url: str | None = None
    data_dir: Path = Path(".ews")
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    public_url: str = "http://127.0.0.1:8080"
    log_level: str = "INFO"
    sender_key: str | None = None
    contact_key: str | None = None
    api_token: str | None = None
    rules_file: Path = Path("rules.toml")
    eval_interval: float = 15.0
    engine_retry_interval: float = 5.0
    dispatch_interval: float = 5.0
    dispatch_max_attempts: int = 6
    db_pool_size: int = 10
    intake_batch_max: int = 256
    intake_writers: int = 4
    notifier: str = "console"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_api_base: str | None = None
    sms_validity: int = 900

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read every setting from an environment mapping; raise ValueError naming a bad one."""
        values: dict[str, Any] = {}
        for setting in SETTINGS_TABLE:
            raw = env.get(setting.env)
            if raw is None or raw == "":
                continue
            try:
                values[setting.field] = _PARSERS[setting.kind](raw)
            except ValueError as exc:
                raise ValueError(f"{setting.env}: expected {setting.kind}, got {raw!r}") from exc
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def secrets(self) -> list[str]:
        """Every secret value set, so logs and rows can be checked against them."""
        return [v for s in SETTINGS_TABLE if s.secret and (v := getattr(self, s.field))]

    def __repr__(self) -> str:
        shown = []
        for setting in SETTINGS_TABLE:
            value = getattr(self, setting.field)
            if setting.secret and value is not None:
                value = "***"
            shown.append(f"{setting.field}={value!r}")
        return f"Settings({', '.join(shown)})"

    __str__ = __repr__


def _check_table_matches_fields() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    table = {s.field for s in SETTINGS_TABLE}
    if fields != table:  # a setting added in one place only would silently never be read
        raise RuntimeError(f"settings table and Settings fields differ: {fields ^ table}")


_check_table_matches_fields()
