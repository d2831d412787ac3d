"""What intake reads about a batch's senders in one statement: opt-out, monitor, recent reports; and ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from ews.core.models import MonitorHome, SenderHistory

# One row per sender, plus the ids the batch's reports will take (reserved here so receipts can quote the
# reference and a repeat can point at a report of the same batch). Both report subqueries are index
# range scans on (sender_hash, received_at), each bounded by its LIMIT however hard a sender floods.
_HISTORY = """
SELECT s.h AS sender_hash,
       EXISTS (SELECT 1 FROM opt_outs o WHERE o.sender_hash = s.h) AS opted_out,
       m.id AS monitor_id, m.county_code AS monitor_county, m.ward_code AS monitor_ward,
       ARRAY(SELECT r.received_at FROM reports r
             WHERE r.sender_hash = s.h AND r.received_at > $2
             ORDER BY r.received_at DESC LIMIT $3) AS recent,
       ARRAY(SELECT ROW(r.id, r.body, r.received_at) FROM reports r
             WHERE r.sender_hash = s.h AND r.received_at > $4 AND r.repeat_of IS NULL
             ORDER BY r.received_at DESC LIMIT $5) AS originals,
       (SELECT array_agg(nextval('reports_id_seq')) FROM generate_series(1, $6)) AS new_ids
FROM unnest($1::text[]) AS s(h)
LEFT JOIN monitors m ON m.phone_hash = s.h AND m.active
"""

MAX_ORIGINALS = 20  # a sender's latest original reports a new one is compared with


async def sender_histories(conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, sender_hashes: Sequence[str],
                           *, flood_since: datetime, flood_max: int, repeat_since: datetime,
                           new_reports: int) -> tuple[dict[str, SenderHistory], list[int]]:
    """Each sender's history, and `new_reports` fresh report ids."""
    rows = await conn.fetch(_HISTORY, list(dict.fromkeys(sender_hashes)), flood_since, flood_max, repeat_since,
                            MAX_ORIGINALS, new_reports)
    histories = {}
    for row in rows:
        monitor = MonitorHome(row["monitor_id"], row["monitor_county"], row["monitor_ward"]) \
            if row["monitor_id"] is not None else None
        histories[row["sender_hash"]] = SenderHistory(
            opted_out=row["opted_out"], monitor=monitor, recent=tuple(row["recent"]),
            originals=tuple(sorted(((o[0], o[1], o[2]) for o in row["originals"]), key=lambda o: o[2])))
    return histories, list(rows[0]["new_ids"]) if rows else []
