"""The `ews` command: serve, migrate, responders import, simulate, detect, rules check, backtest."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import asyncpg

from ews.alerting.directory import DirectoryError, mask_address, parse_directory
from ews.cli import detect, monitors, places, rules_cli, serve
from ews.cli.embedded import EmbeddedPostgres
from ews.core.clock import utcnow
from ews.core.keys import with_keys
from ews.core.logs import configure_logging
from ews.core.privacy import ContactCipher
from ews.core.settings import Settings
from ews.db.pool import create_pool
from ews.db.repo.deliveries import requeue_dead
from ews.db.repo.places import corrected_places
from ews.db.repo.responders import deactivate_responder, import_responders, list_responders

log = logging.getLogger("ews")
T = TypeVar("T")


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """Settings naming a database: EWS_DATABASE_URL, or an embedded PostgreSQL started for the block."""
    if settings.database_url:
        yield settings
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    try:
        yield settings.replace(database_url=embedded.start())
    finally:
        embedded.stop()


def _settings() -> Settings:
    settings = with_keys(Settings.from_env(os.environ))
    configure_logging(settings.log_level, settings.secrets())
    return settings


def cmd_serve(_args: argparse.Namespace) -> int:
    """Run the service until SIGINT or SIGTERM."""
    settings = _settings()
    with database(settings) as ready:
        return serve.run(ready)


def cmd_migrate(_args: argparse.Namespace) -> int:
    """Apply pending migrations and exit."""
    settings = _settings()
    with database(settings) as ready:
        applied = asyncio.run(serve.migrate(ready))
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def cmd_responders_import(args: argparse.Namespace) -> int:
    """Load a responder directory (CSV or TOML) into the database."""
    path = Path(args.file)
    fmt = path.suffix.lower().lstrip(".")
    try:
        entries = parse_directory(path.read_text(encoding="utf-8"), fmt=fmt)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return 2
    except DirectoryError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    settings = _settings()
    with database(settings) as ready:
        assert ready.sender_key and ready.contact_key
        sender_key, cipher = ready.sender_key, ContactCipher(ready.contact_key)
        # keys=True: numbers hashed and encrypted under other keys than the database's would be lost.
        added, updated = asyncio.run(_with_pool(ready, lambda pool: import_responders(
            pool, entries, hash_key=sender_key, cipher=cipher), keys=True))
    print(f"responders: {added} added, {updated} updated")
    return 0


def cmd_responders_list(_args: argparse.Namespace) -> int:
    """Print the responder directory with masked addresses."""
    settings = _settings()
    with database(settings) as ready:
        listed = asyncio.run(_with_pool(ready, list_responders))
    assert settings.contact_key
    cipher = ContactCipher(settings.contact_key)
    for r in listed:
        contacts = ", ".join(f"{channel} {_masked(cipher, channel, enc)}" for channel, enc in r.contacts) or "-"
        print(f"{r.id:>4}  {r.name}  [{r.county_name or 'national'}, {r.role}, {r.language}"
              f"{'' if r.active else ', removed'}]  {contacts}")
    if not listed:
        print("no responders yet: ews responders import FILE")
    return 0


def _masked(cipher: ContactCipher, channel: str, enc: bytes) -> str:
    try:
        return mask_address(channel, cipher.decrypt(enc))
    except ValueError:
        return "(cannot be decrypted with EWS_CONTACT_KEY)"


def cmd_responders_remove(args: argparse.Namespace) -> int:
    """Stop sending to a responder (deactivated, audited; their history stays)."""
    settings = _settings()
    with database(settings) as ready:
        removed = asyncio.run(_with_pool(ready, lambda pool: deactivate_responder(pool, args.id)))
    if not removed:
        print(f"no active responder {args.id}", file=sys.stderr)
        return 1
    print(f"responder {args.id} removed: no more messages go to them")
    return 0


async def _with_pool(settings: Settings, use: Callable[[asyncpg.Pool], Awaitable[T]], *, keys: bool = False) -> T:
    assert settings.database_url
    await serve.migrate(settings, keys=keys)
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        return await use(pool)
    finally:
        await pool.close()


def cmd_places_corrections(args: argparse.Namespace) -> int:
    """Write the hand-corrected places as an evaluation CSV."""
    settings = _settings()
    with database(settings) as ready:
        rows = asyncio.run(_with_pool(ready, _corrected_places))
    if args.out == "-":
        places.write_corrections(rows, sys.stdout)
    else:
        with open(args.out, "w", newline="", encoding="utf-8") as out:
            print(f"{places.write_corrections(rows, out)} corrected reports written to {args.out}")
    return 0


async def _corrected_places(pool: asyncpg.Pool) -> list[tuple[str, int | None, int | None, str | None]]:
    async with pool.acquire() as conn:
        return await corrected_places(conn)


def cmd_deliveries_retry(args: argparse.Namespace) -> int:
    """Send a dead letter again, with a fresh retry window."""
    settings = _settings()
    with database(settings) as ready:
        requeued = asyncio.run(_with_pool(ready, lambda pool: requeue_dead(pool, args.id, now=utcnow(),
                                                                            actor="cli")))
    if not requeued:
        print(f"delivery {args.id} is not a dead letter", file=sys.stderr)
        return 1
    print(f"delivery {args.id} is due again; a running service sends it on its next sweep")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Play a scenario against a running service."""
    from ews.cli import simulate

    # The same settings the service reads: EWS_PORT=9090 for both, and simulate signs as the service checks.
    settings = Settings.from_env(os.environ)
    url = args.url or settings.local_url
    # Sign over what the service checks: EWS_PUBLIC_URL, else the address it was reached at.
    signed_over = args.public_url or settings.public_url or (args.url if args.url else settings.signing_url)
    token = args.auth_token if args.auth_token is not None else settings.twilio_auth_token
    if args.channel in ("africastalking", "ussd") and not settings.at_callback_token:
        print(f"ews simulate --channel {args.channel} needs EWS_AT_CALLBACK_TOKEN, as the service does",
              file=sys.stderr)
        return 2
    if args.ack:
        if not args.sender:
            print("ews simulate --ack A-N needs --from PHONE: a registered responder's number", file=sys.stderr)
            return 2
        detail = asyncio.run(simulate.acknowledge(url, args.ack, sender=args.sender, auth_token=token or None,
                                                  public_url=signed_over, api_token=settings.api_token))
        return 0 if detail else 1
    asyncio.run(simulate.run(url, scenario=args.scenario, duration=args.minutes * 60, auth_token=token or None,
                             public_url=signed_over, api_token=settings.api_token, channel=args.channel,
                             at_token=settings.at_callback_token))
    return 0



def build_parser() -> argparse.ArgumentParser:
    """The argument parser for `ews`."""
    from ews.cli.simulate import scenario_names

    parser = argparse.ArgumentParser(
        prog="ews", description="Early-warning and incident monitoring service for Kenya. "
        "Configured with EWS_* environment variables (see README).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the service (embedded PostgreSQL unless EWS_DATABASE_URL is set)",
                           description="Apply migrations and serve HTTP on EWS_HOST:EWS_PORT until Ctrl-C. "
                           "Without EWS_DATABASE_URL an embedded PostgreSQL keeps its data in EWS_DATA_DIR.")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations and exit",
                             description="Apply pending numbered SQL migrations under an advisory lock.")
    migrate.set_defaults(func=cmd_migrate)

    responders = sub.add_parser("responders", help="manage the responder directory",
                                description="Manage the people alerts go to.")
    rsub = responders.add_subparsers(dest="responders_command", required=True, metavar="ACTION")
    imp = rsub.add_parser("import", help="import responders from a CSV or TOML file",
                          description="Insert or update responders by phone number. CSV header: "
                          "name,phone,county,role,language, optionally email and webhook (an https URL). "
                          "TOML: [[responder]] tables with the same keys. "
                          "county is a name, a code 1-47 or 'national'; role is csic, mediator, gender_desk, "
                          "analyst or other; language is en or sw. Numbers are stored hashed and encrypted.")
    imp.add_argument("file", help="path to a .csv or .toml file")
    imp.set_defaults(func=cmd_responders_import)
    lst = rsub.add_parser("list", help="list responders (addresses masked)",
                          description="Every responder with county, role, language and their contacts per "
                          "channel, masked (e.g. +2547•••••678). The read is audited.")
    lst.set_defaults(func=cmd_responders_list)
    remove = rsub.add_parser("remove", help="stop sending to a responder",
                             description="Deactivate a responder by id (see `ews responders list`): they get no "
                             "more messages; what they were sent stays on record. Audited. Importing them again "
                             "reactivates them.")
    remove.add_argument("id", type=int, help="the responder's id")
    remove.set_defaults(func=cmd_responders_remove)

    monitors.add_parser(sub)

    deliveries = sub.add_parser("deliveries", help="look after outbound messages",
                                description="Outbound messages (list them with GET /api/v1/deliveries).")
    dsub = deliveries.add_subparsers(dest="deliveries_command", required=True, metavar="ACTION")
    retry = dsub.add_parser("retry", help="send a dead letter again",
                            description="Make a dead-lettered delivery due again now, retried for another "
                            "EWS_DISPATCH_RETRY_FOR seconds. Audited.")
    retry.add_argument("id", type=int, help="the delivery's id (GET /api/v1/deliveries?status=dead)")
    retry.set_defaults(func=cmd_deliveries_retry)

    from ews.cli import model as model_cli

    model_cli.add_parser(sub)

    sim = sub.add_parser("simulate", help="post a realistic stream of signed SMS reports to a running service",
                         description="Sends Twilio-shaped SMS webhooks to the service at EWS_HOST:EWS_PORT (or "
                         "--url), signed with EWS_TWILIO_AUTH_TOKEN (or --auth-token) over the URL the service "
                         "checks (EWS_PUBLIC_URL, else its own address), then prints county levels and alerts.")
    sim.add_argument("--url", default=None,
                     help="where the service listens (default: http://EWS_HOST:EWS_PORT, as `ews serve` reads them)")
    sim.add_argument("--channel", default="twilio", choices=["twilio", "whatsapp", "africastalking", "ussd"],
                     help="which gateway's webhooks to post: Twilio's signed form, Twilio's signed WhatsApp form "
                     "to /ingest/twilio/whatsapp (some with a shared location, some with a photo), or Africa's "
                     "Talking's form to /ingest/africastalking/sms?token=EWS_AT_CALLBACK_TOKEN, or USSD sessions "
                     "walked through the menu at /ingest/africastalking/ussd (default twilio)")
    sim.add_argument("--scenario", default="escalation", choices=scenario_names(), help="what to play")
    sim.add_argument("--minutes", type=float, default=3.0, help="how long the scenario lasts (default 3)")
    sim.add_argument("--auth-token", default=None, help="Twilio auth token to sign with")
    sim.add_argument("--public-url", default=None,
                     help="base URL to sign over (default: EWS_PUBLIC_URL, else --url, else http://EWS_HOST:EWS_PORT)")
    sim.add_argument("--ack", default=None, metavar="A-N",
                     help="instead of a scenario: reply 'ACK N' by SMS as a responder would, and show the "
                          "alert's escalation stop")
    sim.add_argument("--from", dest="sender", default=None, metavar="PHONE",
                     help="with --ack: the responder's phone number (as in the responder file)")
    sim.set_defaults(func=cmd_simulate)

    detect.add_parser(sub)
    rules_cli.add_parser(sub)
    places.add_parser(sub, corrections=cmd_places_corrections)
    from ews.cli import routes as routes_cli

    routes_cli.add_parser(sub)
    from ews.cli import silences as silences_cli

    silences_cli.add_parser(sub)
    from ews.cli.data_commands import add_commands

    add_commands(sub)  # tokens, import, export
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ews` console script."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except ValueError as exc:  # bad settings or rules: say what, without a traceback
        print(f"ews: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
