"""Analysts' type corrections, read back as training examples."""

from __future__ import annotations

import asyncpg

# The latest type an analyst gave each report: a report corrected twice teaches its last answer only.
_TYPE_CORRECTIONS = """
SELECT DISTINCT ON (c.report_id) r.body, c.new_value AS incident_type
FROM report_corrections c JOIN reports r ON r.id = c.report_id
WHERE c.field = 'incident_type' AND c.new_value IS NOT NULL
ORDER BY c.report_id, c.at DESC, c.id DESC
"""


async def type_corrections(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    """(text, corrected type) of every report an analyst re-typed."""
    return [(r["body"], r["incident_type"]) for r in await pool.fetch(_TYPE_CORRECTIONS)]
