"""Evaluation of predictions against labels: per-type precision, recall, F1, macro-F1, confusion (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rules.vocabulary import INCIDENT_TYPES

TYPES = tuple(t.code for t in INCIDENT_TYPES)


@dataclass(frozen=True, slots=True)
class TypeScore:
    """Precision, recall and F1 of one type, and how many true examples it had."""

    type: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Scores over a labelled set."""

    n: int
    accuracy: float
    macro_f1: float
    per_type: tuple[TypeScore, ...]
    confusion: tuple[tuple[int, ...], ...]  # rows: true type, columns: predicted type, in TYPES order


def evaluate(truth: Sequence[str], predicted: Sequence[str]) -> Evaluation:
    """Scores of `predicted` against `truth`; macro-F1 averages the types present in `truth`."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    index = {t: i for i, t in enumerate(TYPES)}
    matrix = [[0] * len(TYPES) for _ in TYPES]
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t]][index[p]] += 1
    scores = []
    for i, code in enumerate(TYPES):
        tp = matrix[i][i]
        predicted_n = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(TypeScore(code, precision, recall, f1, support))
    present = [s for s in scores if s.support]
    macro = sum(s.f1 for s in present) / len(present) if present else 0.0
    correct = sum(matrix[i][i] for i in range(len(TYPES)))
    return Evaluation(len(truth), correct / len(truth) if truth else 0.0, macro, tuple(scores),
                      tuple(tuple(row) for row in matrix))


def render(evaluation: Evaluation, *, title: str) -> str:
    """A plain-text report: per-type table, macro-F1, and the confusion matrix (types by number)."""
    lines = [title, f"messages: {evaluation.n}  accuracy: {evaluation.accuracy:.3f}  "
                    f"macro-F1: {evaluation.macro_f1:.3f}", "",
             f"{'#':>2}  {'type':<32} {'precision':>9} {'recall':>7} {'F1':>6} {'n':>5}"]
    for number, s in enumerate(evaluation.per_type, start=1):
        lines.append(f"{number:>2}  {s.type:<32} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} {s.support:>5}")
    lines += ["", "confusion (rows: true type, columns: predicted, by number)",
              "    " + "".join(f"{n:>4}" for n in range(1, len(TYPES) + 1))]
    for number, row in enumerate(evaluation.confusion, start=1):
        lines.append(f"{number:>2}  " + "".join(f"{v:>4}" for v in row))
    return "\n".join(lines) + "\n"
