"""`ews model train` and `ews model evaluate`: the incident-type model's files and its held-out scores."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import rules.classify
from ews.core.clock import utcnow
from ews.core.settings import Settings
from ews.understand.artifact import ModelError, load_model, save_model
from rules.classify.corpus import CorpusError, Labelled, parse_corpus
from rules.classify.metrics import evaluate, render
from rules.language import variety_of_words
from rules.words import words_of

CORPUS_DIR = Path(rules.classify.__file__).resolve().parent / "corpus"  # shipped as package data
DEFAULT_HELDOUT = Path("tests/heldout/types.tsv")
DEFAULT_REPORT = Path("models/evaluation.txt")


def read_corpus(directory: Path) -> list[Labelled]:
    """Every labelled message in the corpus directory's *.tsv files."""
    rows: list[Labelled] = []
    for path in sorted(directory.glob("*.tsv")):
        rows += parse_corpus(path.read_text(encoding="utf-8"), where=str(path))
    return rows


async def _corrections(settings: Settings) -> list[tuple[str, str]]:
    from ews.cli.main import _with_pool
    from ews.db.repo.corrections import type_corrections

    return await _with_pool(settings, type_corrections)


def training_set(corpus: Sequence[Labelled], corrections: Sequence[tuple[str, str]]) -> list[Labelled]:
    """The corpus plus corrections; a corrected text replaces a corpus line with the same text."""
    corrected = {" ".join(text.split()).casefold(): kind for text, kind in corrections}
    kept = [row for row in corpus if " ".join(row.text.split()).casefold() not in corrected]
    return kept + [Labelled(kind, variety_of_words(words_of(text)), text) for text, kind in corrections]


def cmd_train(args: argparse.Namespace) -> int:
    """Train on the corpus (and, with --with-corrections, analysts' corrections) and save the model."""
    from rules.classify.model import train  # scikit-learn: imported only when a command needs it
    settings = Settings.from_env(os.environ)
    try:
        corpus = read_corpus(Path(args.corpus))
    except (OSError, CorpusError) as exc:
        print(f"ews model train: {exc}", file=sys.stderr)
        return 2
    corrections: list[tuple[str, str]] = []
    if args.with_corrections:
        from ews.cli.main import database
        from ews.core.keys import with_keys

        with database(with_keys(settings)) as ready:
            corrections = asyncio.run(_corrections(ready))
    rows = training_set(corpus, corrections)
    started = time.perf_counter()
    pipeline = train([r.text for r in rows], [r.type for r in rows])
    out = Path(args.out) if args.out else settings.model_file
    manifest = save_model(pipeline, out, trained_at=utcnow(), examples=len(rows), corrections=len(corrections))
    print(f"trained {manifest.version} on {len(rows)} messages ({len(corrections)} corrections) in "
          f"{time.perf_counter() - started:.1f} s: {out} ({manifest.size_bytes / 1e6:.1f} MB, sha256 "
          f"{manifest.sha256})")
    return 0


def evaluation_report(pipeline: Any, rows: Sequence[Labelled], *, title: str) -> tuple[str, float, float]:
    """The full report of a model on labelled rows, its macro-F1, and macro-F1 on Sheng and mixed alone."""
    from rules.classify.model import predict  # scikit-learn: imported only when a command needs it
    predicted = [p.type for p in predict(pipeline, [r.text for r in rows])]
    truth = [r.type for r in rows]
    overall = evaluate(truth, predicted)
    parts = [render(overall, title=title)]
    street = [i for i, r in enumerate(rows) if r.language in ("sheng", "mixed")]
    street_eval = evaluate([truth[i] for i in street], [predicted[i] for i in street])
    parts.append(render(street_eval, title=f"{title}: Sheng and mixed only"))
    for language in ("en", "sw", "sheng", "mixed"):
        idx = [i for i, r in enumerate(rows) if r.language == language]
        if idx:
            e = evaluate([truth[i] for i in idx], [predicted[i] for i in idx])
            parts.append(f"{language}: {len(idx)} messages, accuracy {e.accuracy:.3f}, macro-F1 {e.macro_f1:.3f}\n")
    return "\n".join(parts), overall.macro_f1, street_eval.macro_f1


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score the saved model on the held-out split; print the report and write it to a file."""
    from rules.classify.model import train  # scikit-learn: imported only when a command needs it
    settings = Settings.from_env(os.environ)
    try:
        rows = parse_corpus(Path(args.heldout).read_text(encoding="utf-8"), where=str(args.heldout))
        pipeline, manifest = load_model(settings.model_file)
    except (OSError, CorpusError, ModelError) as exc:
        print(f"ews model evaluate: {exc}", file=sys.stderr)
        return 2
    text, macro, street = evaluation_report(pipeline, rows, title=f"{manifest.version} on {args.heldout}")
    header = (f"model {manifest.version} (sha256 {manifest.sha256[:16]}…), trained {manifest.trained_at} on "
              f"{manifest.examples} messages incl. {manifest.corrections} corrections\n")
    if manifest.corrections:
        # Show what the corrections changed: the same corpus without them, scored on the same split.
        base = train([r.text for r in read_corpus(CORPUS_DIR)], [r.type for r in read_corpus(CORPUS_DIR)])
        _, base_macro, base_street = evaluation_report(base, rows, title="corpus only")
        header += (f"without corrections: macro-F1 {base_macro:.3f} (Sheng+mixed {base_street:.3f}); with: "
                   f"{macro:.3f} ({street:.3f}); change {macro - base_macro:+.3f}\n")
    report = header + "\n" + text
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {out}")
    return 0


def add_parser(sub: Any) -> None:
    """The `ews model ...` sub-commands."""
    model = sub.add_parser("model", help="train and evaluate the incident-type classifier",
                           description="The incident-type model (EWS_MODEL_FILE, with its manifest beside it).")
    msub = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    tr = msub.add_parser("train", help="train on the corpus and save the model",
                         description="Train the TF-IDF + logistic regression model on rules/classify/corpus "
                         "and write EWS_MODEL_FILE and its manifest (version, sha256).")
    tr.add_argument("--with-corrections", action="store_true",
                    help="also learn from analysts' type corrections in the database (PATCH /api/v1/reports/ID)")
    tr.add_argument("--corpus", default=str(CORPUS_DIR), help="directory of *.tsv files (default: the shipped corpus)")
    tr.add_argument("--out", default=None, help="model file to write (default: EWS_MODEL_FILE)")
    tr.set_defaults(func=cmd_train)
    ev = msub.add_parser("evaluate", help="score the model on the held-out split",
                         description="Per-type precision, recall, F1, macro-F1, the Sheng and mixed part alone "
                         "and a confusion matrix, printed and written to --out.")
    ev.add_argument("--heldout", default=str(DEFAULT_HELDOUT), help=f"labelled TSV (default {DEFAULT_HELDOUT})")
    ev.add_argument("--out", default=str(DEFAULT_REPORT), help=f"report file (default {DEFAULT_REPORT})")
    ev.add_argument("--corpus", default=str(CORPUS_DIR),
                    help="the corpus the model was trained on, for the comparison without corrections "
                    "(default: the shipped corpus)")
    ev.set_defaults(func=cmd_evaluate)
