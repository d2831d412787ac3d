"""Understanding a report before it is stored: place, language, hashed sender, numbers scrubbed (pure)."""

from __future__ import annotations

from ews.core.models import ReportIn, StoredReport
from ews.core.privacy import redact_phones, sender_hash
from rules.gazetteer import resolve_place
from rules.language import reply_language, variety_of_words
from rules.points import county_at
from rules.sensitive import looks_sensitive
from rules.severity import severity
from rules.words import words_of

POINT_CONFIDENCE = 0.8  # tests/test_points: nearest constituency point vs IEBC outlines on a 0.1-degree grid


def understand(report: ReportIn, *, sender_key: str) -> StoredReport:
    """Fill in what the channel did not know (place, language, sensitivity, a first severity) and hash the
    sender (pure, CPU only).

    What the channel gave (a county picked in a menu, a type chosen on a form) is kept as given: it is
    the reporter's own answer, and a guess from the text must not overrule it.
    """
    words = words_of(report.body)
    county_code, constituency_code, ward_code = report.county_code, report.constituency_code, report.ward_code
    source: str | None = "channel" if county_code is not None else None
    confidence: float | None = 1.0 if source else None
    span: str | None = None
    ambiguous = False
    if county_code is None and report.latitude is not None and report.longitude is not None:
        # A point is the reporter's (or partner's) own answer to "where", so it is trusted before the text;
        # placed by the nearest constituency point, which agrees with the county outlines about 8 times in 10.
        at = county_at(report.latitude, report.longitude)
        if at is not None:
            county_code, source, confidence = at.code, "channel", POINT_CONFIDENCE
    if county_code is None:
        # The channel gave no county: read the place from the text (county, constituency and ward together, so
        # a channel's ward code is never paired with a county guessed from the words).
        match = resolve_place(report.body)
        if match.found:
            county_code, constituency_code, ward_code = match.county_code, match.constituency_code, match.ward_code
            confidence, span, source, ambiguous = match.confidence, match.span, "text", match.ambiguous
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
        constituency_code=constituency_code,
        ward_code=ward_code,
        incident_type=report.incident_type,
        casualties=report.casualties,
        occurred_at=report.occurred_at,
        place_confidence=confidence,
        place_span=redact_phones(span) if span else None,
        place_source=source,
        place_ambiguous=ambiguous,
        latitude=report.latitude,
        longitude=report.longitude,
        partner=report.partner,
        # Sensitive from the first moment: the classifier only runs after the commit.
        sensitive=report.incident_type == "sgbv" or looks_sensitive(words),
        severity=severity(report.incident_type, words, text=report.body, casualties=report.casualties),
        reply_language=reply_language(language, words),
        media_count=report.media_count,
        media_types=report.media_types,
        forwarded=report.forwarded,
    )
