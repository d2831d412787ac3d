"""What a report's prediction means for it: its type, whether it needs review, whether it is sensitive (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rules.classify.model import Prediction
from rules.severity import Severity, severity

FLAG_SGBV = 0.30  # a report the model gives this chance of sgbv is sensitive even when another type wins
CLEAR_SGBV = 0.05  # the model clears a keyword-flagged report only when it is this sure it is not sgbv


@dataclass(frozen=True, slots=True)
class Decision:
    """The classification of one report."""

    incident_type: str
    type_confidence: float | None  # None: the type came from the channel or an analyst, not the model
    needs_review: bool
    sensitive: bool
    severity: Severity


def decide(prediction: Prediction, *, words: Sequence[str], text: str, given_type: str | None,
           casualties: int | None, sensitive: bool, review_below: float) -> Decision:
    """Combine the model's prediction with what the report already has.

    A type given by the channel or an analyst stays. Sensitivity only ever drops when the model is sure:
    a report hidden by the keyword check becomes visible when the model is confident in another type and
    gives sgbv less than CLEAR_SGBV; a report not hidden becomes hidden when sgbv is likely.
    """
    if given_type is not None:
        kind, confidence, review = given_type, None, False
    else:
        kind, confidence = prediction.type, prediction.confidence
        # No words (a photo or a shared location sent alone): the model saw nothing, however sure it says
        # it is, so a person looks.
        review = confidence < review_below or not words
    if kind == "sgbv" or prediction.sgbv >= FLAG_SGBV:
        hidden = True
    elif sensitive:
        sure = given_type is None and not review and prediction.sgbv < CLEAR_SGBV
        hidden = not sure
    else:
        hidden = False
    return Decision(kind, confidence, review, hidden, severity(kind, words, text=text, casualties=casualties))
