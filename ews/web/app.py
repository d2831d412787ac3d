"""The composition root: the one place that wires settings, database, channels, engine and notifiers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ews.alerting.dispatch import Dispatcher, check_send_timeout
from ews.alerting.planner import Planner
from ews.alerting.routes_file import parse_routes
from ews.core.clock import utcnow
from ews.core.models import Command, CommandOutcome, DeliveryReport, IntakeResult, ReportIn
from ews.core.privacy import ContactCipher
from ews.core.settings import Settings
from ews.db.migrate import apply_migrations
from ews.db.pool import create_pool
from ews.db.repo import partners
from ews.db.repo.outbox import purge_reporter_contacts
from ews.db.repo.service_keys import check_keys
from ews.engine.evaluator import Evaluator
from ews.engine.leadership import EngineLeadership
from ews.intake.commands import CommandHandler, OutboxReplies
from ews.intake.flood import FloodLimit
from ews.intake.gateway_events import GatewayEvents
from ews.intake.places import PlaceFollowUp
from ews.intake.screen import IntakePolicy
from ews.intake.writer import IntakeWriter, OutboxReceipts
from ews.understand.placing import Placed, PlacingStage
from ews.understand.placing import worker_pool as placing_worker
from ews.web import channels as _channels  # noqa: F401 - registers the channels that need rules/ data
from ews.web.alert_actions import routes as alert_action_routes
from ews.web.api import routes
from ews.web.appkeys import (
    CLASSIFICATION,
    COMMANDS,
    DISPATCHER,
    EVALUATOR,
    GATEWAY_EVENTS,
    INTAKE,
    LEADERSHIP,
    NOTIFIERS,
    PLACES,
    PLACING,
    PLANNER,
    POOL,
    ROUTES_TEXT,
    RULES,
    SETTINGS,
)
from ews.web.silences import routes as silence_routes
from ingest import registry as ingest_registry
from ingest.africastalking_sms import AfricasTalkingSms
from ingest.replies import command_replies, receipt
from ingest.twilio_sms import TwilioSms
from notifiers import registry as notifier_registry
from notifiers.africastalking_sms import AfricasTalkingSmsNotifier
from notifiers.base import Notifier
from notifiers.twilio_sms import TwilioSmsNotifier
from rules.rulebook import Rulebook, load

if TYPE_CHECKING:
    from ews.understand.stage import ClassificationStage

log = logging.getLogger(__name__)


def load_rules(path: Path) -> Rulebook:
    """The rules in the rules file (the engine's rules until an analyst activates a version in the database);
    RulebookError listing every error of a bad file."""
    return load(Path(path).read_text(encoding="utf-8"), str(path))


def load_routes_text(path: Path) -> str:
    """The routing file's text, checked (RoutesFileError listing every problem of a bad file)."""
    text = Path(path).read_text(encoding="utf-8")
    parse_routes(text)
    return text


def check_settings(settings: Settings) -> None:
    """Refuse settings the service must not start with (ValueError saying what to change)."""
    if not settings.database_url:
        raise ValueError("create_app needs settings.database_url (the CLI starts an embedded one)")
    if not settings.sender_key or not settings.contact_key:
        raise ValueError("create_app needs EWS_SENDER_KEY and EWS_CONTACT_KEY (the CLI generates them)")
    if settings.db_pool_size < settings.intake_writers + 2:
        # Each intake writer keeps a connection; the evaluator, dispatcher and API need the rest.
        raise ValueError(f"EWS_DB_POOL_SIZE ({settings.db_pool_size}) must be at least EWS_INTAKE_WRITERS "
                         f"({settings.intake_writers}) + 2")
    check_send_timeout(settings.send_timeout)
    send_rates(settings)  # ValueError names a negative rate
    if not settings.api_token and not settings.listens_on_loopback:
        raise ValueError(f"EWS_HOST={settings.host} listens beyond this machine, but EWS_API_TOKEN is unset: "
                         "anyone who reaches the port could read every report. Set EWS_API_TOKEN (make one with "
                         "python -c \"import secrets; print(secrets.token_hex(32))\"), or listen on 127.0.0.1.")


def send_rates(settings: Settings) -> dict[str, float]:
    """Each rate-limited notifier's sends (SMS segments) a second for this process: the per-sender rate split
    between the EWS_WORKERS processes, which all send from the same sender."""
    rates = {TwilioSmsNotifier.kind: ("EWS_TWILIO_RATE", settings.twilio_rate),
             AfricasTalkingSmsNotifier.kind: ("EWS_AT_RATE", settings.at_rate)}
    for name, rate in rates.values():
        if not rate >= 0:
            raise ValueError(f"{name} ({rate:g}) must be 0 (no limit) or a number of messages a second above 0")
    return {kind: rate / max(1, settings.workers) for kind, (_name, rate) in rates.items() if rate > 0}


def create_app(settings: Settings) -> web.Application:
    """The aiohttp application for `settings` (which must name a database and carry keys)."""
    check_settings(settings)
    # No middleware: every one would run on each webhook too; the API guards its own routes.
    app = web.Application(client_max_size=256 * 1024)
    app[SETTINGS] = settings
    app[RULES] = load_rules(settings.rules_file)
    app[ROUTES_TEXT] = load_routes_text(settings.routes_file)
    app.cleanup_ctx.extend([_database, _notifier, _workers, _scheduler])
    app.add_routes(routes)
    app.add_routes(alert_action_routes)
    app.add_routes(silence_routes)  # issue 15: silences over the API
    inbox = _AppInbox(app)
    mounted, left_out = ingest_registry.build_configured(settings)
    for name in left_out:
        log.warning("channel %s is not mounted: it is not configured (see the README's settings)", name)
    for channel in mounted:
        channel_routes = channel.routes(inbox)
        app.add_routes(channel_routes)
        if channel.authenticated:
            # After a port or proxy change these are the lines to compare with the gateway's webhook URLs.
            # A channel may say how else it guards itself (a token, a CSRF token) instead of a signature.
            guard = getattr(channel, "guard", "webhook signatures are checked against")
            for path in dict.fromkeys(route.path for route in channel_routes):
                log.info("channel %s: %s %s%s", channel.name, guard, settings.signing_url, path)
        else:
            log.warning("!!! channel %s is UNAUTHENTICATED: anyone who can reach it can post reports !!!",
                        channel.name)
    return app


class _AppInbox:
    """The channels' inbox: the intake writer and the command handler, looked up per call (they start
    after the routes are mounted)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def submit(self, report: ReportIn) -> IntakeResult:
        places = self._app[PLACES]
        # A short SMS from a sender we asked "where did this happen?" is the answer, not a new report.
        if places.may_answer(report):
            answered = await places.answer(report)
            if answered is not None:
                return answered
        return await self._app[INTAKE].submit(report)

    def command(self, command: Command) -> Awaitable[CommandOutcome]:
        return self._app[COMMANDS].handle(command)

    # The partner API's desk (ingest.partner_api.PartnerDesk): tokens and Idempotency-Key answers.
    async def partner_for(self, token: str) -> str | None:
        return await partners.partner_for_token(self._app[POOL], token, now=utcnow())

    async def first_answer(self, partner: str, key: str) -> tuple[str, int, dict[str, Any]] | None:
        kept = await partners.first_answer(self._app[POOL], partner, key)
        return (kept.body_hash, kept.status, kept.response) if kept else None

    async def keep_answer(self, partner: str, key: str, body_hash: str, status: int,
                          answer: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
        kept = await partners.keep_answer(self._app[POOL], partner, key,
                                          partners.FirstAnswer(body_hash, status, answer), now=utcnow())
        return kept.body_hash, kept.status, kept.response

    def delivery_report(self, report: DeliveryReport) -> Awaitable[bool]:
        return self._app[GATEWAY_EVENTS].delivery_report(report)

    def opt_out(self, address: str, *, reason: str) -> Awaitable[None]:
        return self._app[GATEWAY_EVENTS].opt_out(address, reason=reason)


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assert settings.database_url
    pool = await create_pool(settings.database_url, max_size=settings.db_pool_size)
    assert settings.sender_key and settings.contact_key
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            await check_keys(conn, sender_key=settings.sender_key, contact_key=settings.contact_key)
    except BaseException:
        await pool.close()
        raise
    app[POOL] = pool
    yield
    await pool.close()


async def _notifier(app: web.Application) -> AsyncIterator[None]:
    notifiers = notifier_registry.build_all(app[SETTINGS])  # inside the loop: the Twilio client opens a session
    app[NOTIFIERS] = notifiers
    yield
    for notifier in notifiers:
        await notifier.close()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    assert settings.sender_key and settings.contact_key
    notifiers: list[Notifier] = app[NOTIFIERS]
    planner_wake: list[Callable[[], None]] = []  # the planner and the dispatcher wake each other
    dispatcher = Dispatcher(app[POOL], notifiers, ContactCipher(settings.contact_key),
                            retry_for=timedelta(seconds=settings.dispatch_retry_for),
                            send_timeout=settings.send_timeout, rates=send_rates(settings),
                            on_dead=lambda: planner_wake[0]())
    planner = Planner(app[POOL], routes_text=app[ROUTES_TEXT], on_outbox=dispatcher.wake)
    planner_wake.append(planner.wake)
    evaluator = Evaluator(app[POOL], app[RULES], on_change=planner.wake)

    def wake_both() -> None:
        # A command's reply is queued, and an ACK may stop an escalation the planner holds.
        dispatcher.wake()
        planner.wake()

    assert settings.database_url
    leadership = EngineLeadership(settings.database_url, app[POOL], evaluator,
                                  retry_interval=settings.engine_retry_interval)
    # AT's answer cannot carry a reply: its receipts and command replies go through the outbox, answered
    # through AT's notifier when it is configured (else the first notifier sending SMS).
    cipher = ContactCipher(settings.contact_key)
    by_outbox: dict[str, str] = {AfricasTalkingSms.name: AfricasTalkingSmsNotifier.kind}
    retention = timedelta(days=settings.contact_retention_days)
    app[COMMANDS] = CommandHandler(app[POOL], sender_key=settings.sender_key,
                                   replies=OutboxReplies(cipher, command_replies, by_outbox, retention),
                                   on_queued=wake_both)
    app[GATEWAY_EVENTS] = GatewayEvents(app[POOL], sender_key=settings.sender_key,
                                        notifiers={AfricasTalkingSms.name: AfricasTalkingSmsNotifier.kind,
                                                   TwilioSms.name: TwilioSmsNotifier.kind},
                                        on_gateway_gave_up=dispatcher.gateway_gave_up)
    places = PlaceFollowUp(app[POOL], sender_key=settings.sender_key, cipher=cipher,
                           window=settings.place_question_window, ask=settings.place_questions,
                           on_placed=leadership.reports_committed, on_outbox=dispatcher.wake)
    policy = IntakePolicy(flood=FloodLimit(settings.flood_max_reports,
                                           timedelta(minutes=settings.flood_window_minutes)),
                          repeat_window=timedelta(minutes=settings.repeat_window_minutes),
                          similarity=settings.repeat_similarity)
    classification = await _classification_stage(app, on_counted=leadership.counties_counted)

    def placed(reports: Sequence[Placed]) -> None:
        # The engine hears of the series the placing moved (on_counted); what the placing did not count
        # (an SMS without a type yet) the classification stage counts and reports next.
        if classification is not None:
            classification.wake()
        places.placed(reports)

    placing = PlacingStage(app[POOL], batch=settings.classify_batch, on_placed=placed,
                           on_counted=leadership.counties_counted,
                           worker=placing_worker() if settings.classify_worker else None)

    def committed(_results: Sequence[IntakeResult]) -> None:
        placing.wake()

    intake = IntakeWriter(app[POOL], sender_key=settings.sender_key, max_batch=settings.intake_batch_max,
                          writers=settings.intake_writers,
                          confirm_timeout=settings.intake_commit_timeout, on_committed=committed,
                          after_commit=places.after_commit, policy=policy,
                          receipts=OutboxReceipts(cipher, receipt, by_outbox, retention),
                          on_receipts=dispatcher.wake)
    app[DISPATCHER], app[EVALUATOR], app[INTAKE], app[LEADERSHIP] = dispatcher, evaluator, intake, leadership
    app[PLANNER] = planner
    app[PLACES], app[PLACING] = places, placing
    # Every process sends (deliveries are claimed with SKIP LOCKED); one process at a time evaluates.
    dispatcher.start()
    planner.start()
    await leadership.start()  # the leader catches up on anything that changed while it was down
    intake.start()
    placing.start()
    if classification is not None:
        classification.start()
    dispatcher.wake()
    planner.wake()
    yield
    await intake.stop()
    await placing.stop()
    await places.stop()
    if classification is not None:
        await classification.stop()
    await leadership.stop()
    await planner.stop()
    await dispatcher.stop()


async def _classification_stage(app: web.Application, *,
                                on_counted: Callable[[dict[int, set[str]]], None]) -> ClassificationStage | None:
    """The stage that classifies committed reports, or None (loudly) when the model cannot be loaded."""
    # Imported here, not at the top: scikit-learn and skops take seconds to import, and every `ews` command
    # (and each CLI run in the tests) imports this module; only a starting service needs them.
    from ews.understand.artifact import ModelError, load_model
    from ews.understand.stage import ClassificationStage, worker_pool

    settings = app[SETTINGS]
    try:
        # Off the loop: reading and checking a model file takes a moment.
        pipeline, manifest = await asyncio.to_thread(load_model, settings.model_file)
    except ModelError as exc:
        log.warning("!!! reports will NOT be classified: %s !!!", exc)
        return None
    log.info("classifier %s loaded from %s", manifest.version, settings.model_file)
    stage = ClassificationStage(app[POOL], pipeline, model_version=manifest.version,
                                review_below=settings.type_review_threshold,
                                incident_window=timedelta(seconds=settings.incident_window),
                                batch=settings.classify_batch, on_counted=on_counted,
                                worker=worker_pool(settings.model_file) if settings.classify_worker else None)
    app[CLASSIFICATION] = stage
    return stage


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    evaluator, dispatcher, planner, places = app[EVALUATOR], app[DISPATCHER], app[PLANNER], app[PLACES]

    # Coroutine jobs run on the event loop; plain functions would run in a thread, and asyncio.Event
    # (which both hooks set) is not thread-safe.
    async def evaluate_all() -> None:
        evaluator.tick()

    async def sweep_outbox() -> None:
        # The planner too: acks, timeouts and another process's plans are picked up here at the latest; and
        # answers to "where did this happen?" that a process stopped before reading.
        planner.wake()
        dispatcher.wake()
        places.read_answers_soon()

    async def purge_contacts() -> None:
        purged = await purge_reporter_contacts(app[POOL], now=utcnow())
        if purged:
            log.info("purged %d reporter contacts past EWS_CONTACT_RETENTION_DAYS", purged)

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(evaluate_all, "interval", seconds=settings.eval_interval, id="evaluate",
                      coalesce=True, max_instances=1)
    scheduler.add_job(sweep_outbox, "interval", seconds=settings.dispatch_interval, id="dispatch",
                      coalesce=True, max_instances=1)
    scheduler.add_job(purge_contacts, "interval", hours=1, id="purge_contacts", coalesce=True, max_instances=1,
                      next_run_time=utcnow())
    scheduler.start()
    yield
    scheduler.shutdown(wait=False)
