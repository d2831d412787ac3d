"""The type model on disk: a skops file plus a JSON manifest with its version and sha256.

skops stores the fitted pipeline as data, not as a pickle: loading it runs no code from the file. The
file is only opened after its sha256 matches the manifest, and only the types this project's pipeline
needs are trusted (anything else in the file is refused, not loaded).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

# The one non-scikit-learn object in the pipeline: its text normaliser, referred to by name.
TRUSTED = ["rules.classify.model.normalise"]


class ModelError(Exception):
    """The model file is missing, altered, or holds something we do not load."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What is known about a saved model: version, hash, when and on what it was trained."""

    version: str
    sha256: str
    trained_at: str
    examples: int
    corrections: int
    sklearn: str
    size_bytes: int


def manifest_path(model_file: Path) -> Path:
    """Where the manifest of a model file lives (beside it, .json)."""
    return model_file.with_suffix(".json")


def save_model(pipeline: Any, model_file: Path, *, trained_at: datetime, examples: int,
               corrections: int) -> Manifest:
    """Write the pipeline and its manifest; the version names the day and the hash."""
    import sklearn
    import skops.io as sio  # here: skops (and scikit-learn) take seconds to import

    data = sio.dumps(pipeline)
    digest = hashlib.sha256(data).hexdigest()
    manifest = Manifest(version=f"types-{trained_at:%Y%m%d}-{digest[:8]}", sha256=digest,
                        trained_at=trained_at.isoformat(), examples=examples, corrections=corrections,
                        sklearn=sklearn.__version__, size_bytes=len(data))
    model_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = model_file.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(model_file)  # a running service never sees half a file
    manifest_path(model_file).write_text(json.dumps(asdict(manifest), indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(model_file: Path) -> Manifest:
    """The manifest of a model file; ModelError when it is missing or malformed."""
    try:
        raw = json.loads(manifest_path(model_file).read_text(encoding="utf-8"))
        return Manifest(**raw)
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"no readable manifest for {model_file} ({type(exc).__name__}); run `ews model train`") \
            from exc


def load_model(model_file: Path) -> tuple[Any, Manifest]:
    """The pipeline and its manifest, after the hash and the types in the file are checked."""
    manifest = read_manifest(model_file)
    try:
        data = model_file.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {model_file}: {exc}; run `ews model train`") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest.sha256:
        raise ModelError(f"{model_file} has sha256 {digest[:12]}…, its manifest says {manifest.sha256[:12]}…: "
                         "refusing to load it (retrain with `ews model train`)")
    pipeline = _UNPACKED.get(digest)
    if pipeline is None:
        pipeline = _unpack(model_file, data)
        _UNPACKED.clear()  # one model per process at a time
        _UNPACKED[digest] = pipeline
    return pipeline, manifest


# The same file (by its sha256, checked above on every load) is unpacked once per process: an app built
# again in the same process (tests, a restart of the stage) shares the read-only pipeline.
_UNPACKED: dict[str, Any] = {}


def _unpack(model_file: Path, data: bytes) -> Any:
    import skops.io as sio  # here: skops (and scikit-learn) take seconds to import

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # skops refuses a malformed or inconsistent file with assorted errors
        raise ModelError(f"{model_file} is not a model this service loads: {type(exc).__name__}") from exc
    unexpected = sorted(set(untrusted) - set(TRUSTED))
    if unexpected:
        raise ModelError(f"{model_file} holds types this service does not load: {', '.join(unexpected)}")
    try:
        return sio.loads(data, trusted=TRUSTED)
    except Exception as exc:
        raise ModelError(f"{model_file} is not a model this service loads: {type(exc).__name__}") from exc
