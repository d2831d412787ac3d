"""Review and correction of a report (the review part of `PATCH /api/v1/reports/{id}`): what an analyst
asks to change, and what the report becomes (pure).

Place corrections (issue 10) are parsed by their own module; the handler refuses any field neither knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ews.core.models import FieldChange as Change
from ews.core.models import ReviewState
from rules.severity import severity
from rules.vocabulary import INCIDENT_TYPES, incident_type_by_number
from rules.words import words_of

REVIEW_STATUSES = ("new", "verified", "rejected", "duplicate")
FIELDS = frozenset({"review_status", "incident_type", "sensitive", "duplicate_of", "duplicate_of_incident",
                    "reviewer"})
"""The body fields this module reads."""

_TYPES = {t.code for t in INCIDENT_TYPES}
MAX_ID = 2**63 - 1


class ReviewError(ValueError):
    """A review body that cannot be applied, saying which field and why."""


@dataclass(frozen=True, slots=True)
class ReviewChange:
    """What one PATCH asks to change (None: leave as it is)."""

    review_status: str | None = None
    incident_type: str | None = None
    sensitive: bool | None = None
    duplicate_of: int | None = None
    duplicate_of_incident: int | None = None
    reviewer: str | None = None

    @property
    def empty(self) -> bool:
        """Whether nothing would change."""
        return (self.review_status is None and self.incident_type is None and self.sensitive is None
                and self.duplicate_of is None and self.duplicate_of_incident is None)


def parse_review(body: Mapping[str, Any]) -> ReviewChange:
    """The review fields of a PATCH body; ReviewError naming the first bad one."""
    status = body.get("review_status")
    if status is not None and (not isinstance(status, str) or status not in REVIEW_STATUSES):
        raise ReviewError(f"review_status must be one of {', '.join(REVIEW_STATUSES)}")
    kind = body.get("incident_type")
    if kind is not None:
        if isinstance(kind, int) and not isinstance(kind, bool):
            try:
                kind = incident_type_by_number(kind).code  # menus and monitors use the numbers 1-14
            except KeyError:
                raise ReviewError("incident_type as a number must be 1-14") from None
        elif not isinstance(kind, str) or kind not in _TYPES:
            raise ReviewError("incident_type must be one of the 14 type codes (or numbers 1-14)")
    sensitive = body.get("sensitive")
    if sensitive is not None and not isinstance(sensitive, bool):
        raise ReviewError("sensitive must be true or false")
    duplicate_of = _optional_id(body, "duplicate_of")
    duplicate_of_incident = _optional_id(body, "duplicate_of_incident")
    if (duplicate_of is not None or duplicate_of_incident is not None) and status not in (None, "duplicate"):
        raise ReviewError("duplicate_of and duplicate_of_incident go with review_status 'duplicate'")
    if duplicate_of is not None and duplicate_of_incident is not None:
        raise ReviewError("give duplicate_of or duplicate_of_incident, not both")
    if (duplicate_of is not None or duplicate_of_incident is not None) and status is None:
        status = "duplicate"
    if status == "duplicate" and duplicate_of is None and duplicate_of_incident is None:
        raise ReviewError("review_status 'duplicate' needs duplicate_of (a report id) or duplicate_of_incident")
    reviewer = body.get("reviewer")
    if reviewer is not None and (not isinstance(reviewer, str) or not 1 <= len(reviewer.strip()) <= 100):
        raise ReviewError("reviewer must be a name of 1-100 characters")
    return ReviewChange(status, kind, sensitive, duplicate_of, duplicate_of_incident,
                        reviewer.strip() if isinstance(reviewer, str) else None)


def _optional_id(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ReviewError(f"{name} must be a positive integer id")
    return value


def reviewed(state: ReviewState, change: ReviewChange, *, body: str,
             casualties: int | None) -> tuple[ReviewState, list[Change]]:
    """What the report becomes, and the list of what changed.

    A re-typed report is the analyst's type from now on (no model confidence, no review needed), and its
    severity is worked out again. A report typed sgbv is always sensitive; only an explicit
    `sensitive: false` makes one visible. A rejected or duplicate report leaves its incident (it
    corroborates nothing); a re-typed one leaves it too, to be grouped again under its new type.
    """
    new = state
    if change.review_status is not None:
        new = replace(new, review_status=change.review_status, needs_review=False)
        if change.review_status == "duplicate":
            new = replace(new, duplicate_of_report=change.duplicate_of,
                          duplicate_of_incident=change.duplicate_of_incident)
        else:
            new = replace(new, duplicate_of_report=None, duplicate_of_incident=None)
    if change.incident_type is not None and change.incident_type != state.incident_type:
        new = replace(new, incident_type=change.incident_type, type_source="analyst", type_confidence=None,
                      needs_review=False, incident_id=None,
                      severity=severity(change.incident_type, words_of(body), text=body, casualties=casualties))
    if change.sensitive is not None:
        new = replace(new, sensitive=change.sensitive)
    if new.incident_type == "sgbv":
        new = replace(new, sensitive=True)
    if new.review_status in ("rejected", "duplicate"):
        new = replace(new, incident_id=None)
    changes: list[Change] = []
    for name in ("review_status", "incident_type", "sensitive", "duplicate_of_report", "duplicate_of_incident"):
        old, now = getattr(state, name), getattr(new, name)
        if old != now:
            changes.append((name, _text(old), _text(now)))
    return new, changes


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
