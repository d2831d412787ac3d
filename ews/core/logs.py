"""Logging set-up with a last line of defence that scrubs phone numbers and secrets from every record."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from aiohttp.http_exceptions import HttpProcessingError

from ews.core.privacy import redact_phones

_TRACEBACKS = logging.Formatter()  # only its formatException, the stdlib's traceback text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, traceback and stack with phone numbers and the given secrets removed."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the formatted message, the exception text and the stack; always keep the record."""
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set and only format exc_info themselves when it is not;
            # the exception object itself is dropped so no later handler formats its raw text.
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True

    def _clean(self, text: str) -> str:
        cleaned = redact_phones(text)
        for secret in self._secrets:
            cleaned = cleaned.replace(secret, "***")
        return cleaned


class BadRequestFilter(logging.Filter):
    """Turns aiohttp's ERROR-with-traceback for a malformed request into one WARNING line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite records about requests the HTTP parser refused (4xx); keep every record."""
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= exc.code < 500:
            # A flood of oversized or garbled requests is the client's fault and needs no traceback; the
            # parser's message can quote the bad bytes, so only the exception's class and status are kept.
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
            record.msg = "malformed request refused: %s (%s) from %s"
            record.args = (type(exc).__name__, exc.code, remote)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def configure_logging(level: str, secrets: Sequence[str] = ()) -> None:
    """Structured-ish key=value lines on stderr, redacted, at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # A handler that cannot write would otherwise print the exception being handled, unredacted, to stderr.
    logging.raiseExceptions = False
    server = logging.getLogger("aiohttp.server")
    server.filters[:] = [f for f in server.filters if not isinstance(f, BadRequestFilter)]
    server.addFilter(BadRequestFilter())
    # The twilio client logs every request at INFO; we log our own one line per send instead.
    logging.getLogger("ews.twilio_http").setLevel(logging.WARNING)
    logging.getLogger("twilio").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl command line at INFO
