"""Features and model: word and character n-gram TF-IDF with a multinomial logistic regression.

Word n-grams carry the meaning of whole words; character n-grams (within word boundaries) carry the
stems and affixes that Swahili and Sheng inflect ("wame-chom-a", "ku-bak-wa") and survive SMS typos
("amechomwa", "amechomw", "wamechma"). A linear model over both is small, fast and explainable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

MAX_CHARS = 2000
"""Text beyond this is not read: an SMS is at most 1,600 characters, and cost must not grow without bound."""

_DIGITS = re.compile(r"\d+")


def normalise(text: str) -> str:
    """Lower-cased text with every number as one token, cut to MAX_CHARS (the model sees only this)."""
    return _DIGITS.sub(" 0 ", text[:MAX_CHARS].casefold())


WORD_FEATURES = 2**17
CHAR_FEATURES = 2**17


def build_pipeline(*, c: float = 20.0) -> Pipeline:
    """An untrained pipeline: text -> hashed n-grams -> TF-IDF weights -> logistic regression.

    Hashing instead of a learnt vocabulary keeps the model file to arrays (no dictionary of n-grams to
    rebuild on load), so it loads in a fraction of a second; 2^17 buckets per kind keep collisions rare.
    """
    words = HashingVectorizer(preprocessor=normalise, ngram_range=(1, 2), n_features=WORD_FEATURES,
                              token_pattern=r"(?u)\b\w+\b",  # noqa: S106 - one-letter words count too
                              alternate_sign=False, norm=None)
    chars = HashingVectorizer(preprocessor=normalise, analyzer="char_wb", ngram_range=(2, 5),
                              n_features=CHAR_FEATURES, alternate_sign=False, norm=None)
    features = FeatureUnion([
        ("words", Pipeline([("hash", words), ("tfidf", TfidfTransformer(sublinear_tf=True))])),
        ("chars", Pipeline([("hash", chars), ("tfidf", TfidfTransformer(sublinear_tf=True))])),
    ])
    return Pipeline([("features", features),
                     ("model", LogisticRegression(C=c, max_iter=2000, class_weight="balanced"))])


def train(texts: Sequence[str], labels: Sequence[str], *, c: float = 20.0) -> Pipeline:
    """A pipeline fitted on labelled texts."""
    pipeline = build_pipeline(c=c)
    pipeline.fit(list(texts), list(labels))
    return pipeline


@dataclass(frozen=True, slots=True)
class Prediction:
    """The most likely type, its probability, and the probability of sgbv (for the sensitive decision)."""

    type: str
    confidence: float
    sgbv: float


def predict(pipeline: Any, texts: Sequence[str]) -> list[Prediction]:
    """A prediction per text (one vectorised call for the whole batch)."""
    if not texts:
        return []
    probabilities = pipeline.predict_proba(list(texts))
    classes = list(pipeline.classes_)
    sgbv = classes.index("sgbv") if "sgbv" in classes else None
    out = []
    for row in probabilities:
        best = int(row.argmax())
        out.append(Prediction(str(classes[best]), float(row[best]), float(row[sgbv]) if sgbv is not None else 0.0))
    return out
