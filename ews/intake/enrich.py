"""Understanding a report before it is stored: place, language, hashed sender, numbers scrubbed (pure)."""

from __future__ import annotations

from ews.core.models import ReportIn, StoredReport
from ews.core.privacy import redact_phones, sender_hash
from rules.gazetteer import county_in_words
from rules.language import language_of_words
from rules.points import county_at
from rules.words import words_of


def understand(report: ReportIn, *, sender_key: str) -> StoredReport:
    """Fill in what the channel did not know (county, language) and hash the sender (pure, CPU only).

    What the channel gave (a county picked in a menu, a type chosen on a form) is kept as given: it is
    the reporter's own answer, and a guess from the text must not overrule it.
    """
    words = words_of(report.body)
    county_code = report.county_code
    if county_code is None and report.latitude is not None and report.longitude is not None:
        # A point is the partner's own answer to "where", so it is trusted before a name in the text.
        at = county_at(report.latitude, report.longitude)
        county_code = at.code if at else None
    if county_code is None:
        county = county_in_words(words)
        county_code = county.code if county else None
    return StoredReport(
        source=report.idempotency_source,
        external_id=report.external_id,
        channel=report.channel,
        # A reporter may type a number (their own or a neighbour's); we keep no numbers at all.
        body=redact_phones(report.body),
        sender_hash=sender_hash(sender_key, report.sender),
        county_code=county_code,
        language=report.language or language_of_words(words),
        received_at=report.received_at,
        constituency_code=report.constituency_code,
        ward_code=report.ward_code,
        incident_type=report.incident_type,
        casualties=report.casualties,
        occurred_at=report.occurred_at,
        latitude=report.latitude,
        longitude=report.longitude,
        partner=report.partner,
    )
