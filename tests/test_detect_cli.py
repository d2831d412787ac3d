"""`ews detect`: CSV in, CSV out, and one-line errors naming the line with exit status 2."""

from __future__ import annotations

import csv
import io
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ews.cli.detect import DetectError, parse_series
from ews.cli.main import main
from rules.detectors import Cusum, EarsC1

HISTORY = [1, 2, 3, 4, 5, 6, 7]


def _csv(tmp_path: Path, text: str, name: str = "series.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["detect", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ears_c1_writes_one_row_per_input_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = "period,count\n" + "".join(f"w{i},{c}\n" for i, c in enumerate([*HISTORY, 12, 10], 1))
    code, out, err = _run(capsys, "--method", "ears-c1", "--input", _csv(tmp_path, lines))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "period,count,statistic,threshold,alarm"
    rows = _rows(out)
    assert [r["period"] for r in rows] == [f"w{i}" for i in range(1, 10)]
    assert all(r["statistic"] == "" and r["threshold"] == "" and r["alarm"] == "0" for r in rows[:7])
    expected = EarsC1().run([12, 10], HISTORY)
    assert float(rows[7]["statistic"]) == pytest.approx(expected[0].statistic, rel=1e-5)
    assert float(rows[7]["threshold"]) == pytest.approx(3.09023)
    assert [r["alarm"] for r in rows[7:]] == ["1", "0"]


def test_history_rows_never_alarm_and_set_cusum_s_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = "period,cases\n" + "".join(f"{i},{c}\n" for i, c in enumerate([4, 4, 20, 4, 8, 8, 4], 1))
    code, out, _ = _run(capsys, "--method", "cusum", "--input", _csv(tmp_path, lines), "--count-column", "cases",
                        "--history-rows", "4", "--h", "1.5")
    assert code == 0
    rows = _rows(out)
    assert [r["alarm"] for r in rows[:4]] == ["0"] * 4  # 20 is in the history: no alarm there
    expected = Cusum(h=1.5).run([8, 8, 4], [4, 4, 20, 4])  # m = 8
    assert [float(r["statistic"]) for r in rows[4:]] == pytest.approx([s.statistic for s in expected], abs=1e-5)
    assert rows[0]["count"] == "4" and "cases" not in rows[0]

    code, out, _ = _run(capsys, "--method", "cusum", "--input", _csv(tmp_path, lines), "--count-column", "cases",
                        "--reference-mean", "4", "--h", "1.5", "--reset")
    assert code == 0 and _rows(out)[2]["alarm"] == "1"


@pytest.mark.parametrize("method", ["ears-c1", "ears-c2", "ears-c3", "cusum", "ewma", "surge", "quiet"])
def test_every_method_runs(method: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counts = [3, 2, 4, 3, 5, 2, 3, 4, 3, 2, 3, 4, 5, 3, 2, 3, 4, 30, 0, 0, 0, 0, 0, 0, 0, 0]
    lines = "period,count\n" + "".join(f"d{i},{c}\n" for i, c in enumerate(counts))
    code, out, err = _run(capsys, "--method", method, "--input", _csv(tmp_path, lines), "--history-rows", "2")
    assert (code, err) == (0, "")
    rows = _rows(out)
    assert len(rows) == len(counts)
    assert any(r["alarm"] == "1" for r in rows)


def test_options_choose_variants(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = "period,count\n" + "".join(f"{i},{c}\n" for i, c in enumerate([*HISTORY, 4, 4, 15, 16, 20]))
    path = _csv(tmp_path, lines)
    _, classic, _ = _run(capsys, "--method", "ears-c3", "--input", path)
    _, r, _ = _run(capsys, "--method", "ears-c3", "--input", path, "--c3-variant", "r")
    assert _rows(classic)[-1]["statistic"] != _rows(r)[-1]["statistic"]
    _, strict, _ = _run(capsys, "--method", "ears-c1", "--input", path, "--alpha", "0.001")
    _, loose, _ = _run(capsys, "--method", "ears-c1", "--input", path, "--alpha", "0.2", "--min-sigma", "1",
                       "--baseline", "5")
    assert _rows(strict)[-1]["threshold"] == "3.09023" and _rows(loose)[-1]["threshold"] == "0.841621"


def test_zero_sd_and_missing_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = "period,count\n" + "".join(f"{i},{c}\n" for i, c in enumerate([2] * 7 + [3, "", "NA"]))
    code, out, _ = _run(capsys, "--method", "ears-c1", "--input", _csv(tmp_path, lines))
    rows = _rows(out)
    assert code == 0 and rows[7]["statistic"] == "inf" and rows[7]["alarm"] == "1"
    assert [(r["count"], r["statistic"], r["alarm"]) for r in rows[8:]] == [("", "", "0"), ("", "", "0")]


def test_reads_standard_input() -> None:
    lines = "period,count\n" + "".join(f"{i},{c}\n" for i, c in enumerate([*HISTORY, 12]))
    done = subprocess.run([sys.executable, "-m", "ews.cli.main", "detect", "--method", "ears-c1", "--input", "-"],
                          input=lines, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.splitlines()[-1].endswith(",1")


@pytest.mark.parametrize(("content", "argv", "message"), [
    ("period,count\n1,2\n", ["--count-column", "cases"], "line 1: no column 'cases' (columns: period, count)"),
    ("period,count\n" + "1,1\n" * 8 + "9,-1\n", [], "line 10: count -1 is negative"),
    ("period,count\n" + "1,1\n" * 3 + "4,many\n", [], "line 5: count 'many' is not a number"),
    ("period,count\n1,nan\n", [], "line 2: count 'nan' is not a finite number"),
    ("period,count\n1,1e999\n", [], "line 2: count '1e999' is not a finite number"),
    ("period,count\n1,1\n2\n", [], "line 3: no count (the row has 1 of 2 columns)"),
    ("period,count\n" + "1,1\n" * 5, [], "too few rows: ears-c1 needs at least 8 (history included), the file has 5"),
    ("period,count\n" + "1,1\n" * 9, ["--method", "ears-c3"], "ears-c3 needs at least 12"),
    ("period,count\n" + "1,1\n" * 9, ["--history-rows", "9"], "--history-rows 9 leaves no row to monitor"),
    ("period,count\n", [], "no data rows after the header"),
    ("", [], "empty: need a header line"),
    ("period,count\n" + "1,1\n" * 9, ["--method", "cusum"], "cusum needs --history-rows N"),
    ("period,count\n" + "1,0\n" * 9, ["--method", "cusum", "--history-rows", "3"], "the history's mean is 0"),
    ("period,count\n" + "1,1\n" * 9, ["--k", "0.5"], "--k does not apply to ears-c1 (it is for cusum)"),
    ("period,count\n" + "1,1\n" * 9, ["--c3-variant", "r"], "--c3-variant does not apply to ears-c1"),
    ("period,count\n" + "1,1\n" * 9, ["--alpha", "1.5"], "alpha must be between 0 and 1"),
    ("period,count\n" + "1,1\n" * 9, ["--baseline", "2"], "baseline of at least 3"),
    ("period,count\n" + "1,1\n" * 9, ["--method", "cusum", "--reference-mean", "-1"], "reference mean must be"),
    ("period,count\n" + "1,1\n" * 9, ["--method", "cusum", "--min-sigma", "1", "--history-rows", "2"],
     "--min-sigma applies to cusum only with --baseline"),
])
def test_bad_input_is_one_line_naming_the_row_and_exit_2(content: str, argv: list[str], message: str,
                                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    method = [] if "--method" in argv else ["--method", "ears-c1"]
    path = _csv(tmp_path, content)
    code, out, err = _run(capsys, *method, "--input", path, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"ews detect: {path}: ")
    assert message in err


def test_unreadable_and_undecodable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--method", "surge", "--input", str(tmp_path / "missing.csv"))
    assert code == 2 and "cannot read: No such file or directory" in err
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("period,count\nMombasa\xe9,1\n".encode("latin-1"))
    code, _, err = _run(capsys, "--method", "surge", "--input", str(bad))
    assert code == 2 and "line 2: not UTF-8 (at byte offset 20)" in err
    with pytest.raises(SystemExit) as exited:
        main(["detect", "--method", "surge", "--input", str(bad), "--history-rows", "-1"])
    assert exited.value.code == 2 and "--history-rows: must be 0 or more, not -1" in capsys.readouterr().err


def test_without_a_period_column_rows_are_numbered() -> None:
    series = parse_series(b"\xef\xbb\xbfcount\n3\n\n4\n")
    assert (series.periods, series.counts) == (["1", "2"], [3.0, 4.0])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_fail_with_a_detect_error(raw: bytes) -> None:
    try:
        series = parse_series(raw)
    except DetectError as exc:
        assert "\n" not in str(exc)
        return
    assert all(math.isnan(c) or (math.isfinite(c) and c >= 0) for c in series.counts)
    assert len(series.counts) == len(series.periods) == len(series.texts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
                                  max_size=12),
                          st.one_of(st.integers(0, 10**9), st.floats(0, 1e9, allow_nan=False))), max_size=30))
def test_written_counts_come_back(rows: list[tuple[str, float]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("period", "count"))
    writer.writerows((p, repr(c)) for p, c in rows)
    series = parse_series(buffer.getvalue().encode("utf-8"))
    assert series.counts == [float(c) for _, c in rows]
    assert series.periods == [p.strip() for p, _ in rows]


def test_other_commands_do_not_load_the_detectors() -> None:
    # `ews serve` builds the same parser; numpy and the detectors load only when `ews detect` runs.
    code = "import sys, ews.cli.main as m; m.build_parser(); print('rules.detectors' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert done.stdout.strip() == "False"
