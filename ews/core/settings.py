"""Every EWS_* setting in one table, read once at start-up.

The `Settings` dataclass is the table: each field carries its environment name, default and help, and its
annotation is its type. Nothing else holds a default (a test compares them with the README's table).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Setting:
    """One documented setting: its environment name, field, type, default and meaning."""

    env: str
    field: str
    kind: str
    default: Any
    help: str
    secret: bool = False


def setting(env: str, default: Any, help: str, *, secret: bool = False) -> Any:
    """A Settings field bound to the environment variable `env`."""
    return dataclasses.field(default=default, metadata={"env": env, "help": help, "secret": secret})


@dataclass(frozen=True, slots=True)
class Settings:
    """The service's configuration; build it with `Settings.from_env`."""

    database_url: str | None = setting(
        "EWS_DATABASE_URL", None,
        "PostgreSQL URL. Unset: start an embedded PostgreSQL (pgserver) under EWS_DATA_DIR.", secret=True)
    data_dir: Path = setting(
        "EWS_DATA_DIR", Path(".ews"),
        "Directory for the embedded PostgreSQL's data and generated keys.")
    host: str = setting(
        "EWS_HOST", "127.0.0.1",
        "Address the HTTP server listens on.")
    port: int = setting(
        "EWS_PORT", 8080,
        "Port the HTTP server listens on.")
    workers: int = setting(
        "EWS_WORKERS", 1,
        "HTTP worker processes sharing the port (SO_REUSEPORT); each also dispatches, and one at a time "
        "evaluates, coordinated through PostgreSQL locks.")
    public_url: str | None = setting(
        "EWS_PUBLIC_URL", None,
        "Base URL the gateways call (as they see it); webhook signatures are checked against it. Unset: "
        "http://EWS_HOST:EWS_PORT.")
    log_level: str = setting(
        "EWS_LOG_LEVEL", "INFO",
        "Python log level (DEBUG, INFO, WARNING, ...).")
    sender_key: str | None = setting(
        "EWS_SENDER_KEY", None,
        "HMAC key for hashing phone numbers. Unset: generated once into EWS_DATA_DIR/keys.json. A database "
        "filled with another key is refused at start-up.", secret=True)
    contact_key: str | None = setting(
        "EWS_CONTACT_KEY", None,
        "Fernet key encrypting the phone numbers we must keep (responders, reporters awaiting a reply). "
        "Unset: generated like EWS_SENDER_KEY.", secret=True)
    api_token: str | None = setting(
        "EWS_API_TOKEN", None,
        "When set, /api/v1/* requires 'Authorization: Bearer <token>'.", secret=True)
    rules_file: Path = setting(
        "EWS_RULES_FILE", Path("rules.toml"),
        "Escalation rules file (TOML).")
    routes_file: Path = setting(
        "EWS_ROUTES_FILE", Path("routes.toml"),
        "Alert routing file (TOML): who is told of which alert, grouping, escalation policies. Used until a "
        "version is activated with `ews routes activate`.")
    eval_interval: float = setting(
        "EWS_EVAL_INTERVAL", 15.0,
        "Seconds between scheduled re-evaluations of every county (decay, hold-down timers).")
    engine_retry_interval: float = setting(
        "EWS_ENGINE_RETRY_INTERVAL", 5.0,
        "Seconds between a follower's attempts to take over the rules engine (one process or instance "
        "evaluates at a time; the others pass their reports to it with NOTIFY).")
    dispatch_interval: float = setting(
        "EWS_DISPATCH_INTERVAL", 5.0,
        "Seconds between scheduled sweeps of the outbox (retries; new messages are sent at once).")
    dispatch_retry_for: float = setting(
        "EWS_DISPATCH_RETRY_FOR", 1800.0,
        "Seconds a message that fails with a retryable error keeps being retried before it is "
        "dead-lettered.")
    db_pool_size: int = setting(
        "EWS_DB_POOL_SIZE", 10,
        "Maximum PostgreSQL connections in the pool.")
    intake_batch_max: int = setting(
        "EWS_INTAKE_BATCH_MAX", 256,
        "Most reports committed in one group-commit transaction.")
    intake_writers: int = setting(
        "EWS_INTAKE_WRITERS", 1,
        "Group-commit batches in flight at once (each keeps one pooled connection; size EWS_DB_POOL_SIZE "
        "above it). One is fastest on a nearby database; more can help when every round trip is long.")
    intake_commit_timeout: float = setting(
        "EWS_INTAKE_COMMIT_TIMEOUT", 10.0,
        "Seconds a webhook waits for its report's commit before answering 503; keep it under the "
        "gateway's own timeout (Twilio gives up after 15 s).")
    notifiers: str = setting(
        "EWS_NOTIFIERS", "console",
        "Comma-separated notifiers to send through, e.g. 'twilio_sms,email'; 'console' prints and sends "
        "nothing.")
    twilio_account_sid: str | None = setting(
        "EWS_TWILIO_ACCOUNT_SID", None,
        "Twilio account SID (AC...).")
    twilio_auth_token: str | None = setting(
        "EWS_TWILIO_AUTH_TOKEN", None,
        "Twilio auth token: signs inbound webhooks and authenticates outbound SMS. Unset: inbound "
        "webhooks are NOT authenticated (a warning is logged).", secret=True)
    twilio_from: str | None = setting(
        "EWS_TWILIO_FROM", None,
        "Sender for outbound Twilio SMS (E.164 number, or MG... messaging service SID).")
    twilio_api_base: str | None = setting(
        "EWS_TWILIO_API_BASE", None,
        "Override of https://api.twilio.com for outbound calls (tests, proxies).")
    twilio_rate: float = setting(
        "EWS_TWILIO_RATE", 10.0,
        "SMS segments a second sent through Twilio's one sender (EWS_TWILIO_FROM); a burst is spread at this "
        "rate. Twilio gives 10 a second to countries outside +1, 1 to a US/Canada long code, 30 to a short "
        "code. Split between EWS_WORKERS. 0: no limit.")
    sms_validity: int = setting(
        "EWS_SMS_VALIDITY", 900,
        "Seconds an alert SMS may wait in Twilio's queue before it is dropped as stale.")
    send_timeout: float = setting(
        "EWS_SEND_TIMEOUT", 15.0,
        "Seconds one outbound call (SMS gateway, email, webhook) may take before it counts as a retryable "
        "failure; must stay under the send lease.")
    # Email and webhook notifiers (issue 15).
    smtp_host: str | None = setting(
        "EWS_SMTP_HOST", None,
        "SMTP server the email notifier sends through. Unset: EWS_NOTIFIERS=email is refused at start-up.")
    smtp_port: int = setting(
        "EWS_SMTP_PORT", 587,
        "SMTP port (587 for STARTTLS, 465 for implicit TLS, 25 for a local relay).")
    smtp_security: str = setting(
        "EWS_SMTP_SECURITY", "starttls",
        "starttls (upgrade a plain connection, refused if the server cannot), tls (implicit TLS from the "
        "first byte, port 465) or none (a relay on this machine only).")
    smtp_user: str | None = setting(
        "EWS_SMTP_USER", None,
        "SMTP login. Unset: send without AUTH.")
    smtp_password: str | None = setting(
        "EWS_SMTP_PASSWORD", None,
        "SMTP password for EWS_SMTP_USER.", secret=True)
    smtp_from: str | None = setting(
        "EWS_SMTP_FROM", None,
        "From address of alert emails, e.g. alerts@ews.example.org.")
    webhook_secret: str | None = setting(
        "EWS_WEBHOOK_SECRET", None,
        "Key of the HMAC-SHA256 signature (X-EWS-Signature) on every webhook alert, for receivers without "
        "their own in EWS_WEBHOOK_SECRETS.", secret=True)
    webhook_secrets: str | None = setting(
        "EWS_WEBHOOK_SECRETS", None,
        "Per-receiver webhook keys, comma-separated ORIGIN=SECRET (e.g. https://partner.example.org=s1); a "
        "receiver's origin is the scheme, host and port of its webhook URL.", secret=True)
    # Places (issue 10): asking a reporter where it happened when the text names no place.
    place_questions: bool = setting(
        "EWS_PLACE_QUESTIONS", True,
        "Ask an SMS reporter whose report names no place where it happened (one question per report).")
    place_question_window: float = setting(
        "EWS_PLACE_QUESTION_WINDOW", 3600.0,
        "Seconds after the question in which a short SMS from the same sender is taken as its answer.")
    # Web form and partner API (issue 12).
    web_form: bool = setting(
        "EWS_WEB_FORM", True,
        "Serve the public web form at /report (anonymous reports from a browser).")
    form_rate_limit: int = setting(
        "EWS_FORM_RATE_LIMIT", 10,
        "Most web form submissions one client (address) may make in EWS_FORM_RATE_WINDOW seconds; more get 429.")
    form_rate_window: float = setting(
        "EWS_FORM_RATE_WINDOW", 600.0,
        "Seconds of the web form's per-client rate limit window.")
    forwarded_for: bool = setting(
        "EWS_FORWARDED_FOR", False,
        "Behind a reverse proxy: take the client's address from the last X-Forwarded-For entry (for the "
        "web form's rate limit). Leave off when clients reach the service directly, or they can forge it.")
    # Africa's Talking, flood control, near-duplicates and reporter contacts (issue 8).
    at_callback_token: str | None = setting(
        "EWS_AT_CALLBACK_TOKEN", None,
        "Secret query parameter `token` on every Africa's Talking callback URL (AT signs nothing). Unset: the "
        "AT routes are not mounted.", secret=True)
    at_username: str | None = setting(
        "EWS_AT_USERNAME", None,
        "Africa's Talking username ('sandbox' for the sandbox).")
    at_api_key: str | None = setting(
        "EWS_AT_API_KEY", None,
        "Africa's Talking API key, for sending SMS (receipts, replies, alerts).", secret=True)
    at_sender: str | None = setting(
        "EWS_AT_SENDER", None,
        "Shortcode or alphanumeric sender id outbound AT SMS come from. Unset: AT's default sender.")
    at_keyword: str | None = setting(
        "EWS_AT_KEYWORD", None,
        "The keyword of a shared shortcode (e.g. AMANI on 22384): sent with every premium reply (one quoting "
        "AT's linkId), as AT asks for on shared codes. Unset: a dedicated code, no keyword.")
    at_rate: float = setting(
        "EWS_AT_RATE", 10.0,
        "SMS segments a second sent through Africa's Talking's sender (EWS_AT_SENDER); a burst is spread at "
        "this rate. Ask AT for your sender's figure. Split between EWS_WORKERS. 0: no limit.")
    at_api_base: str | None = setting(
        "EWS_AT_API_BASE", None,
        "Override of https://api.africastalking.com (https://api.sandbox.africastalking.com for username "
        "'sandbox') for outbound calls (tests, proxies).")
    flood_max_reports: int = setting(
        "EWS_FLOOD_MAX_REPORTS", 10,
        "Reports one sender may send within EWS_FLOOD_WINDOW_MINUTES; beyond that they are stored, marked "
        "flooding, not counted by the rules and get no receipt until the sender calms down.")
    flood_window_minutes: float = setting(
        "EWS_FLOOD_WINDOW_MINUTES", 10.0,
        "The window of the flood rate (see EWS_FLOOD_MAX_REPORTS).")
    repeat_window_minutes: float = setting(
        "EWS_REPEAT_WINDOW_MINUTES", 60.0,
        "How far back a sender's near-identical text counts as a repeat of their earlier report.")
    repeat_similarity: float = setting(
        "EWS_REPEAT_SIMILARITY", 90.0,
        "Fuzzy ratio (0-100, after normalising case, spacing and punctuation) from which a text is a repeat.")
    contact_retention_days: float = setting(
        "EWS_CONTACT_RETENTION_DAYS", 30.0,
        "Days a reporter's encrypted number is kept for replies; then the purge job deletes it.")
    # USSD (issue 9): the menu at POST /ingest/africastalking/ussd?token=EWS_AT_CALLBACK_TOKEN.
    at_ussd_codes: str | None = setting(
        "EWS_AT_USSD_CODES", None,
        "Comma-separated USSD service codes the menu answers (e.g. *384*1234#); a request for another code "
        "gets an END screen. Unset: any code AT sends to this callback.")
    # Classification, severity, sensitive reports, incidents (issue 11).
    model_file: Path = setting(
        "EWS_MODEL_FILE", Path("models/incident_types.skops"),
        "The incident-type model (skops), with its manifest (.json: version, sha256) beside it; built by "
        "`make` / `ews model train`. Loaded only when its sha256 matches the manifest. Missing: reports are "
        "stored but not classified (a warning at start-up).")
    type_review_threshold: float = setting(
        "EWS_TYPE_REVIEW_THRESHOLD", 0.6,
        "A predicted type with a confidence below this marks the report needs_review.")
    incident_window: float = setting(
        "EWS_INCIDENT_WINDOW", 7200.0,
        "Seconds within which reports of one type group at one place (ward, else constituency, else "
        "county) form one incident.")
    classify_batch: int = setting(
        "EWS_CLASSIFY_BATCH", 256,
        "Most reports the classification stage takes in one transaction.")
    classify_worker: bool = setting(
        "EWS_CLASSIFY_WORKER", True,
        "Classify in a worker process of its own (started with the service), so that under a flood the model "
        "does not slow the webhooks' answers; false: in a thread of the service's process.")
    sensitive_api_token: str | None = setting(
        "EWS_SENSITIVE_API_TOKEN", None,
        "Bearer token of callers cleared for sensitive (possible sexual or gender-based violence) reports; "
        "it also opens every route EWS_API_TOKEN opens. Without it, sensitive reports are in no API answer.",
        secret=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read every setting from an environment mapping; raise ValueError naming a bad one."""
        values: dict[str, Any] = {}
        for entry in SETTINGS_TABLE:
            raw = env.get(entry.env)
            if raw is None or raw == "":
                continue
            try:
                values[entry.field] = _PARSERS[entry.kind](raw)
            except ValueError as exc:
                raise ValueError(f"{entry.env}: expected {entry.kind}, got {raw!r}") from exc
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def secrets(self) -> list[str]:
        """Every secret value set, so logs and rows can be checked against them; a list of NAME=SECRET
        items (EWS_WEBHOOK_SECRETS) also gives each SECRET alone, since that is what a log line could hold."""
        found = [v for s in SETTINGS_TABLE if s.secret and (v := getattr(self, s.field))]
        if self.webhook_secrets:
            found += [part for item in self.webhook_secrets.split(",")
                      if (part := item.rpartition("=")[2].strip())]
        return found

    @property
    def local_url(self) -> str:
        """Where the service can be reached from this machine: http://EWS_HOST:EWS_PORT (a wildcard host
        reads as 127.0.0.1)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104 - a name, not a bind
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def signing_url(self) -> str:
        """The base URL webhook signatures are checked against: EWS_PUBLIC_URL, else `local_url`."""
        return self.public_url.rstrip("/") if self.public_url else self.local_url

    @property
    def listens_on_loopback(self) -> bool:
        """Whether the HTTP server is reachable only from this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name other than localhost may resolve to anything
            return False

    def notifier_kinds(self) -> list[str]:
        """The notifiers EWS_NOTIFIERS names, in order, without repeats."""
        kinds = [kind.strip() for kind in self.notifiers.split(",") if kind.strip()]
        return list(dict.fromkeys(kinds))

    def __repr__(self) -> str:
        shown = []
        for entry in SETTINGS_TABLE:
            value = getattr(self, entry.field)
            if entry.secret and value is not None:
                value = "***"
            shown.append(f"{entry.field}={value!r}")
        return f"Settings({', '.join(shown)})"

    __str__ = __repr__


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


_PARSERS: dict[str, Callable[[str], Any]] = {"str": str, "int": int, "float": float, "bool": _bool, "path": Path}
# The annotation of each field, as written (annotations are strings here), to the parser's name.
_KINDS = {"str": "str", "int": "int", "float": "float", "bool": "bool", "Path": "path"}


def _table() -> tuple[Setting, ...]:
    entries = []
    for f in dataclasses.fields(Settings):
        annotation = str(f.type).removesuffix(" | None")
        entries.append(Setting(env=f.metadata["env"], field=f.name, kind=_KINDS[annotation], default=f.default,
                               help=f.metadata["help"], secret=f.metadata["secret"]))
    return tuple(entries)


SETTINGS_TABLE: tuple[Setting, ...] = _table()
"""Every setting, in the order the README documents them."""
