"""Flood control and near-duplicates: pure decisions about one sender's new report given their recent ones."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from rapidfuzz import fuzz

K = TypeVar("K")

_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class FloodLimit:
    """At most `max_reports` from one sender within `window` count; more are flooding."""

    max_reports: int
    window: timedelta


def is_flooding(earlier: Sequence[datetime], now: datetime, limit: FloodLimit) -> bool:
    """Whether a report at `now` is over the sender's rate, given the times of their earlier reports.

    Every stored report counts toward the rate, flooding ones included: a sender who keeps sending fast
    stays flooding, and calms down once fewer than `max_reports` fall within the window.
    """
    since = now - limit.window
    return sum(1 for at in earlier if since < at <= now) >= limit.max_reports


def normalise(text: str) -> str:
    """The text as a repeat is compared: case folded, punctuation dropped, spacing collapsed."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def repeat_of(text: str, earlier: Sequence[tuple[K, str]], *, similarity: float) -> K | None:
    """The key of the oldest earlier text (already normalised) that `text` nearly repeats, or None.

    `similarity` is rapidfuzz's ratio (0-100) from which two normalised texts count as the same report.
    """
    mine = normalise(text)
    for key, other in earlier:
        if fuzz.ratio(mine, other, score_cutoff=similarity):
            return key
    return None
