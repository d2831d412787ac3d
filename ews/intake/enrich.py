"""Understanding a report before it is stored: place, language, hashed sender, numbers scrubbed (pure)."""

from __future__ import annotations

from ews.core.models import ReportIn, StoredReport
from ews.core.privacy import redact_phones, sender_hash
from rules.gazetteer import county_in_words
from rules.language import reply_language, variety_of_words
from rules.sensitive import looks_sensitive
from rules.severity import severity
from rules.words import words_of


def understand(report: ReportIn, *, sender_key: str) -> StoredReport:
    """Fill in what the channel did not know (county, language, sensitivity, a first severity) and hash the
    sender (pure, CPU only).

    What the channel gave (a county picked in a menu, a type chosen on a form) is kept as given: it is
    the reporter's own answer, and a guess from the text must not overrule it.
    """
    words = words_of(report.body)
    county_code = report.county_code
    if county_code is None:
        county = county_in_words(words)
        county_code = county.code if county else None
    language = report.language or variety_of_words(words)
    return StoredReport(
        source=report.idempotency_source,
        external_id=report.external_id,
        channel=report.channel,
        # A reporter may type a number (their own or a neighbour's); we keep no numbers at all.
        body=redact_phones(report.body),
        sender_hash=sender_hash(sender_key, report.sender),
        county_code=county_code,
        language=language,
        received_at=report.received_at,
        constituency_code=report.constituency_code,
        ward_code=report.ward_code,
        incident_type=report.incident_type,
        casualties=report.casualties,
        occurred_at=report.occurred_at,
        # Sensitive from the first moment: the classifier only runs after the commit.
        sensitive=report.incident_type == "sgbv" or looks_sensitive(words),
        severity=severity(report.incident_type, words, text=report.body, casualties=report.casualties),
        reply_language=reply_language(language, words),
    )
