"""Logging set-up with a last line of defence that scrubs phone numbers and secrets from every record."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from ews.core.privacy import redact_phones


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with phone numbers and the given secrets removed."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the formatted message; always keep the record."""
        message = record.getMessage()
        cleaned = redact_phones(message)
        for secret in self._secrets:
            cleaned = cleaned.replace(secret, "***")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str, secrets: Sequence[str] = ()) -> None:
    """Structured-ish key=value lines on stderr, redacted, at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The twilio client logs every request at INFO; we log our own one line per send instead.
    logging.getLogger("ews.twilio_http").setLevel(logging.WARNING)
    logging.getLogger("twilio").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl command line at INFO
