"""Understanding a report before it is stored: place, language, hashed sender, numbers scrubbed (pure)."""

from __future__ import annotations

from ews.core.models import ReportIn, StoredReport
from ews.core.privacy import redact_phones, sender_hash
from rules.gazetteer import resolve_place
from rules.language import language_of_words
from rules.words import words_of


def understand(report: ReportIn, *, sender_key: str) -> StoredReport:
    """Fill in what the channel did not know (place, language) and hash the sender (pure, CPU only).

    What the channel gave (a county picked in a menu, a type chosen on a form) is kept as given: it is
    the reporter's own answer, and a guess from the text must not overrule it.
    """
    words = words_of(report.body)
    county_code, constituency_code, ward_code = report.county_code, report.constituency_code, report.ward_code
    confidence: float | None = None
    span: str | None = None
    source: str | None = "channel" if county_code is not None else None
    ambiguous = False
    if county_code is None:
        # The channel gave no county: read the place from the text (county, constituency and ward together, so
        # a channel's ward code is never paired with a county guessed from the words).
        match = resolve_place(report.body)
        if match.found:
            county_code, constituency_code, ward_code = match.county_code, match.constituency_code, match.ward_code
            confidence, span, source, ambiguous = match.confidence, match.span, "text", match.ambiguous
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
        constituency_code=constituency_code,
        ward_code=ward_code,
        incident_type=report.incident_type,
        casualties=report.casualties,
        occurred_at=report.occurred_at,
        place_confidence=1.0 if source == "channel" else confidence,
        place_span=redact_phones(span) if span else None,
        place_source=source,
        place_ambiguous=ambiguous,
    )
