"""The shipped type model: hash-checked loading, code-switching, junk and long text; the CLI's evaluation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ews.cli.main import main
from ews.core.settings import Settings
from ews.understand.artifact import ModelError, load_model, manifest_path
from rules.classify.model import predict

MODEL = Settings().model_file  # built by `make` (make test depends on it)


@pytest.fixture(scope="module")
def pipeline() -> Any:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make model` (make test builds it)")
    loaded, _manifest = load_model(MODEL)
    return loaded


@pytest.mark.parametrize(("text", "expected"), [
    ("msee ameuawa kwa stage, pls send police", "killing"),  # Sheng with English
    ("wamechoma nyumba zetu last night, everything is ashes", "arson_property"),
    ("polisi wamefika but the youths are still blocking the road na mawe", "protest_demonstration"),
    ("raiders wameiba ng'ombe 40 from the boma", "cattle_raiding"),
    ("dem amebakwa near the river", "sgbv"),
    ("wanalipa watu 200 bob wa-vote for the MCA", "election_malpractice"),
    ("peace meeting ya wazee leo Kainuk", "peace_activity"),
])
def test_code_switching(pipeline: Any, text: str, expected: str) -> None:
    assert predict(pipeline, [text])[0].type == expected


@pytest.mark.parametrize("text", ["", "   ", "?!?!", "asdkjh qwpoeiru", "😀😀😀", "\x00\x01", "1234567890"])
def test_empty_and_junk_text_is_not_an_incident_or_low_confidence(pipeline: Any, text: str) -> None:
    prediction = predict(pipeline, [text])[0]
    assert prediction.type == "not_incident" or prediction.confidence < 0.6


def test_very_long_text_is_read_up_to_a_bound(pipeline: Any) -> None:
    long = "watu wawili wameuawa Kondele usiku " * 5_000  # 175,000 characters
    assert predict(pipeline, [long])[0].type == "killing"
    junk = predict(pipeline, ["x" * 1_000_000])[0]
    assert 0 <= junk.confidence <= 1


def test_altered_model_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "m.skops"
    shutil.copy(MODEL, copy)
    shutil.copy(manifest_path(MODEL), manifest_path(copy))
    load_model(copy)  # a faithful copy loads
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="refusing to load"):
        load_model(copy)


def test_missing_manifest_or_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="ews model train"):
        load_model(tmp_path / "none.skops")
    shutil.copy(manifest_path(MODEL), tmp_path / "only.json")
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "only.skops")


def test_a_file_with_untrusted_types_is_refused(tmp_path: Path) -> None:
    import hashlib
    import os

    import skops.io as sio

    # A matching hash is not enough: a file that would need trusting other code is not loaded.
    data = sio.dumps({"f": os.system})
    bad = tmp_path / "bad.skops"
    bad.write_bytes(data)
    manifest = json.loads(manifest_path(MODEL).read_text())
    manifest["sha256"] = hashlib.sha256(data).hexdigest()
    manifest_path(bad).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=r"does not load|not a model"):
        load_model(bad)


def test_evaluate_prints_and_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    heldout = tmp_path / "h.tsv"
    heldout.write_text("type\tlanguage\ttext\nkilling\tsheng\tmsee amezimwa kwa stage\n"
                       "not_incident\ten\thello how are you\ncattle_raiding\tmixed\traiders wameiba cows 30\n")
    out = tmp_path / "report.txt"
    monkeypatch.setenv("EWS_MODEL_FILE", str(MODEL.resolve()))
    assert main(["model", "evaluate", "--heldout", str(heldout), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    written = out.read_text()
    assert "macro-F1" in written and "Sheng and mixed only" in written and "confusion" in written
    assert written in printed
    assert main(["model", "evaluate", "--heldout", str(tmp_path / "missing.tsv"), "--out", str(out)]) == 2
