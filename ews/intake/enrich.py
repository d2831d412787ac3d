"""Understanding a report before it is stored: place, language, hashed sender, numbers scrubbed (pure)."""

from __future__ import annotations

from ews.core.models import ReportIn, StoredReport
from ews.core.privacy import redact_phones, sender_hash
from rules.gazetteer import county_in_words
from rules.language import language_of_words
from rules.words import words_of


def understand(report: ReportIn, *, sender_key: str) -> StoredReport:
    """Resolve county and language and hash the sender (pure, CPU only)."""
    words = words_of(report.body)  # split once for both place and language
    county = county_in_words(words)
    return StoredReport(
        source=report.source,
        external_id=report.external_id,
        # A reporter may type a number (their own or a neighbour's); we keep no numbers at all.
        body=redact_phones(report.body),
        sender_hash=sender_hash(sender_key, report.sender),
        county_code=county.code if county else None,
        language=language_of_words(words),
        received_at=report.received_at,
    )


