"""`ews rules check` and `ews backtest` run in-process (pure: no database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ews.cli.main import main
from tests.test_rulebook import BAD, DEFAULT


def test_rules_check_accepts_the_default_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(DEFAULT)]) == 0
    out = capsys.readouterr().out
    assert "ok, version" in out and "critical-report: immediate" in out


def test_rules_check_lists_every_error_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD, encoding="utf-8")
    assert main(["rules", "check", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"{bad}: 16 errors"
    lines = [int(e.split(":")[1]) for e in err[:-1]]
    assert lines == sorted(lines) and len(lines) == 16


def test_rules_check_of_a_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(tmp_path / "none.toml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_rules_check_recognises_a_first_rules_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(DEFAULT.parent.parent / "rules.toml")]) == 1
    err = capsys.readouterr().err
    assert "'window_minutes' is a key of the first rules file" in err and 'detector = "window_count"' in err
