"""Report places after the commit: refinement from the sender's history, ask-back questions, corrections."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import asyncpg

Connection: TypeAlias = "asyncpg.Connection | asyncpg.pool.PoolConnectionProxy"

_EARLIER_COUNTIES = """
SELECT county_code FROM reports
WHERE sender_hash = $1 AND id < $2 AND county_code IS NOT NULL
ORDER BY id DESC LIMIT $3
"""


async def earlier_counties(conn: Connection, sender_hash: str, before_id: int, *, limit: int = 5) -> list[int]:
    """The counties of this sender's latest placed reports before `before_id`, newest first."""
    return [row["county_code"] for row in await conn.fetch(_EARLIER_COUNTIES, sender_hash, before_id, limit)]


_SET_PLACE = """
UPDATE reports SET county_code = $2, constituency_code = $3, ward_code = $4, place_confidence = $5,
                   place_span = $6, place_source = $7
WHERE id = $1
"""


async def set_place(conn: Connection, report_id: int, *, county: int | None, constituency: int | None,
                    ward: str | None, confidence: float | None, span: str | None, source: str | None) -> None:
    """Store a report's place (after a refinement, an answer or a correction)."""
    await conn.execute(_SET_PLACE, report_id, county, constituency, ward, confidence, span, source)


# One question per report (primary key) and one open question per sender: a flood of unplaced reports from
# one phone gets one question, and an answer can only belong to one report. A sensitive report (sexual or
# gender-based violence) gets no text back: the phone may not be the survivor's alone.
_ASK = """
INSERT INTO place_questions (report_id, sender_hash, reporter_contact_id, asked_at, expires_at)
SELECT $1, $2, $3, $4, $5
WHERE NOT EXISTS (SELECT 1 FROM opt_outs WHERE sender_hash = $2)
  AND NOT EXISTS (SELECT 1 FROM reports WHERE id = $1 AND (flooding OR sensitive))
  AND NOT EXISTS (SELECT 1 FROM place_questions
                  WHERE sender_hash = $2 AND answered_at IS NULL AND expires_at > $4)
ON CONFLICT (report_id) DO NOTHING
RETURNING report_id
"""
_LINK_OUTBOX = "UPDATE place_questions SET outbox_id = $2 WHERE report_id = $1"


async def record_question(conn: Connection, *, report_id: int, sender_hash: str, contact_id: int, now: datetime,
                          expires_at: datetime) -> bool:
    """Record that this report's sender is asked where it happened; False when they must not be asked
    (opted out, flooding, a sensitive report, already asked about it, or awaiting an answer about another)."""
    return await conn.fetchval(_ASK, report_id, sender_hash, contact_id, now, expires_at) is not None


async def link_question_outbox(conn: Connection, report_id: int, outbox_id: int) -> None:
    """The outbox row that carries the question."""
    await conn.execute(_LINK_OUTBOX, report_id, outbox_id)


# Senders whose question is still within its window, answered or not (a gateway may retry an answer).
_ASKED_SENDERS = "SELECT DISTINCT sender_hash FROM place_questions WHERE expires_at > $1"


async def asked_senders(conn: Connection, now: datetime) -> set[str]:
    """Hashes of the senders with a question inside its answer window."""
    return {row["sender_hash"] for row in await conn.fetch(_ASKED_SENDERS, now)}


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """A question an inbound message may answer (or already answered, when a gateway retries)."""

    report_id: int
    county_code: int | None
    language: str
    answered: bool


# The open question, or the one this very message already answered (a gateway's retry of the answer).
_QUESTION_FOR = """
SELECT q.report_id, r.county_code, r.language, q.answered_at IS NOT NULL AS answered
FROM place_questions q JOIN reports r ON r.id = q.report_id
WHERE q.sender_hash = $1
  AND ((q.answered_at IS NULL AND q.expires_at > $2) OR (q.answer_source = $3 AND q.answer_external_id = $4))
ORDER BY q.answered_at IS NULL, q.asked_at DESC
LIMIT 1
"""


async def question_for(conn: Connection, sender_hash: str, *, source: str, external_id: str,
                       now: datetime) -> OpenQuestion | None:
    """The question this inbound message answers, if any."""
    row = await conn.fetchrow(_QUESTION_FOR, sender_hash, now, source, external_id)
    if row is None:
        return None
    return OpenQuestion(row["report_id"], row["county_code"], row["language"], row["answered"])


_ANSWER = """
UPDATE place_questions SET answered_at = $2, answer_source = $3, answer_external_id = $4, answer_body = $5
WHERE report_id = $1 AND answered_at IS NULL
  -- A message id that already answered another question is no answer to this one (a forged or reused id):
  -- it goes to intake, which keeps one report per id.
  AND NOT EXISTS (SELECT 1 FROM place_questions WHERE answer_source = $3 AND answer_external_id = $4)
RETURNING report_id
"""


async def record_answer(conn: Connection, report_id: int, *, now: datetime, source: str, external_id: str,
                        body: str) -> bool:
    """Attach an answer to its question; False when another answer got there first."""
    return await conn.fetchval(_ANSWER, report_id, now, source, external_id, body) is not None


@dataclass(frozen=True, slots=True)
class UnreadAnswer:
    """An answer stored but not yet read for a place."""

    report_id: int
    sender_hash: str
    body: str
    language: str  # the asked report's (en, sw, sheng or mixed)


# SKIP LOCKED: several processes read answers side by side without reading one twice.
_UNREAD_ANSWERS = """
SELECT q.report_id, q.sender_hash, q.answer_body, r.language FROM place_questions q
JOIN reports r ON r.id = q.report_id
WHERE q.answered_at IS NOT NULL AND q.answer_read_at IS NULL
ORDER BY q.answered_at
LIMIT $1
FOR UPDATE OF q SKIP LOCKED
"""
_ANSWER_READ = "UPDATE place_questions SET answer_read_at = $2 WHERE report_id = $1"


async def unread_answers(conn: Connection, limit: int) -> list[UnreadAnswer]:
    """Claim up to `limit` answers not yet read, oldest first, for the caller's transaction."""
    return [UnreadAnswer(r["report_id"], r["sender_hash"], r["answer_body"] or "", r["language"])
            for r in await conn.fetch(_UNREAD_ANSWERS, limit)]


async def mark_answer_read(conn: Connection, report_id: int, *, now: datetime) -> None:
    """Record that the answer to this report's question was read (whether or not it named a place)."""
    await conn.execute(_ANSWER_READ, report_id, now)


@dataclass(frozen=True, slots=True)
class PlaceRow:
    """A report's stored place."""

    county_code: int | None
    constituency_code: int | None
    ward_code: str | None


_LOCK_PLACE = "SELECT county_code, constituency_code, ward_code FROM reports WHERE id = $1 FOR UPDATE"
_CORRECTION = """
INSERT INTO place_corrections (report_id, corrected_by, corrected_at, before_county, before_constituency,
                               before_ward, after_county, after_constituency, after_ward, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id
"""
_AUDIT = "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"


async def correct_place(conn: Connection, report_id: int, after: PlaceRow, *, by: str, note: str,
                        now: datetime) -> tuple[PlaceRow, PlaceRow] | None:
    """Set a report's place by hand, kept as a correction (who, when, before, after) and audited; None when
    there is no such report. Call inside a transaction."""
    row = await conn.fetchrow(_LOCK_PLACE, report_id)
    if row is None:
        return None
    before = PlaceRow(row["county_code"], row["constituency_code"], row["ward_code"])
    await conn.execute(_CORRECTION, report_id, by, now, before.county_code, before.constituency_code,
                       before.ward_code, after.county_code, after.constituency_code, after.ward_code, note)
    await set_place(conn, report_id, county=after.county_code, constituency=after.constituency_code,
                    ward=after.ward_code, confidence=1.0 if after.county_code is not None else None, span=None,
                    source="correction" if after.county_code is not None else None)
    detail = {"before": [before.county_code, before.constituency_code, before.ward_code],
              "after": [after.county_code, after.constituency_code, after.ward_code], "note": note}
    await conn.execute(_AUDIT, now, by, "report.place_corrected", f"report:{report_id}", json.dumps(detail))
    return before, after




# The latest correction of each report, as an evaluation row; sensitive reports are never exported.
_CORRECTED = """
SELECT DISTINCT ON (c.report_id) r.body, c.after_county, c.after_constituency, c.after_ward
FROM place_corrections c JOIN reports r ON r.id = c.report_id
WHERE NOT r.sensitive
ORDER BY c.report_id, c.id DESC
"""


async def corrected_places(conn: Connection) -> list[tuple[str, int | None, int | None, str | None]]:
    """(text, county, constituency, ward) of every corrected report but the sensitive ones, by report id."""
    return [(r["body"], r["after_county"], r["after_constituency"], r["after_ward"])
            for r in await conn.fetch(_CORRECTED)]
