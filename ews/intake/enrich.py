"""Understanding a report: what the request path must know before the commit (language, hashed sender,
numbers scrubbed, a place the channel gave) and what the placing stage works out after it (pure)."""

from __future__ import annotations

import dataclasses

from ews.core.models import ReportIn, StoredReport, Understood, Unplaced
from ews.core.privacy import redact_phones, sender_hash
from rules.gazetteer import resolve_place
from rules.language import reply_language, variety_of_words
from rules.monitor_format import parse_monitor_sms
from rules.points import county_at
from rules.sensitive import looks_sensitive
from rules.severity import severity
from rules.words import words_of

POINT_CONFIDENCE = 0.8  # tests/test_points: nearest constituency point vs IEBC outlines on a 0.1-degree grid


def receive(report: ReportIn, *, sender_key: str) -> StoredReport:
    """What the row needs before it is committed and acknowledged (pure, CPU only): the body without
    numbers, the hashed sender, the language the receipt is written in, and a place the channel gave.

    Reading the place from the text, the severity and the sensitivity are left to the placing stage
    (`understand_text`, after the commit), so the acknowledgement does not wait for them. Until then the
    report is stored as sensitive: hidden from uncleared callers before anyone knows it is not.
    """
    words = words_of(report.body)
    county_code = report.county_code
    source: str | None = "channel" if county_code is not None else None
    confidence: float | None = 1.0 if source else None
    if county_code is None and report.latitude is not None and report.longitude is not None:
        # A point is the reporter's (or partner's) own answer to "where", so it is trusted before the text;
        # placed by the nearest constituency point, which agrees with the county outlines about 8 times in 10.
        at = county_at(report.latitude, report.longitude)
        if at is not None:
            county_code, source, confidence = at.code, "channel", POINT_CONFIDENCE
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
        place_confidence=confidence,
        place_source=source,
        latitude=report.latitude,
        longitude=report.longitude,
        partner=report.partner,
        sensitive=True,  # until the placing stage has read the text (see the docstring)
        reply_language=reply_language(language, words),
        media_count=report.media_count,
        media_types=report.media_types,
        forwarded=report.forwarded,
    )


def understand_text(report: Unplaced) -> Understood:
    """Read the place from the text (unless the channel or a monitor's structured SMS gave it), whether the
    report may be sexual or gender-based violence, and a first severity (pure, CPU only).

    What the channel gave (a county picked in a menu, a type chosen on a form) is kept as given: it is
    the reporter's own answer, and a guess from the text must not overrule it. A monitor's home county
    (filled in by intake's screening when nothing else placed the report) gives way to a place in the text.
    """
    words = words_of(report.body)
    county, constituency, ward = report.county_code, report.constituency_code, report.ward_code
    confidence: float | None = 1.0 if report.place_source == "channel" else None
    source, span, ambiguous = report.place_source, None, False
    given = report.place_source == "channel" or (report.monitor_id is not None
                                                and parse_monitor_sms(report.body) is not None)
    if not given:
        match = resolve_place(report.body)
        if match.found:
            county, constituency, ward = match.county_code, match.constituency_code, match.ward_code
            confidence, span, source, ambiguous = match.confidence, match.span, "text", match.ambiguous
    return Understood(
        id=report.id, county_code=county, constituency_code=constituency, ward_code=ward,
        place_confidence=confidence, place_span=redact_phones(span) if span else None, place_source=source,
        place_ambiguous=ambiguous,
        sensitive=report.incident_type == "sgbv" or looks_sensitive(words),
        severity=severity(report.incident_type, words, text=report.body, casualties=report.casualties))


def understand(report: ReportIn, *, sender_key: str) -> StoredReport:
    """Everything at once, for paths that do not answer a gateway (imports): `receive` then `understand_text`."""
    stored = receive(report, sender_key=sender_key)
    found = understand_text(Unplaced(0, report.body, stored.county_code, stored.constituency_code,
                                     stored.ward_code, stored.place_source, None, report.incident_type,
                                     report.casualties))
    return dataclasses.replace(
        stored, county_code=found.county_code, constituency_code=found.constituency_code,
        ward_code=found.ward_code, place_confidence=found.place_confidence, place_span=found.place_span,
        place_source=found.place_source, place_ambiguous=found.place_ambiguous, sensitive=found.sensitive,
        severity=found.severity)
