"""Rules files v2 (rules/rulebook.py): the default rules load, every error is reported with its line and a
hint, overrides apply per county, and no text makes the checker raise."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ews.core.models import Level
from rules.detectors import EarsC1, Immediate
from rules.rulebook import ALL_COUNTIES, Levels, RulebookError, check, line_index, load

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "rules.toml"

GOOD = """\
version = "t1"
[[rule]]
name = "v"
detector = "ears-c1"
groups = ["violence"]
counties = [47, "Nakuru"]
period = "day"
hold_for = 1
keep_for = 2
min_count = 3
[rule.params]
baseline = 7
min_sigma = 1.0
[rule.levels]
watch = 3
warning = 5
[[rule.override]]
counties = ["Nairobi"]
min_count = 6
params = { min_sigma = 2.0 }

[[rule]]
name = "critical"
detector = "immediate"
groups = ["violence"]
[rule.params]
types = ["killing"]
[rule.levels]
alert = 1
"""


def test_the_default_rules_load_and_every_detector_kind_builds() -> None:
    book = load(DEFAULT.read_text(encoding="utf-8"))
    assert book.version and len(book.rules) >= 5
    for rule in book.rules:
        assert rule.detector_object is not None
        assert rule.counties == ALL_COUNTIES


def test_a_good_file_reads_with_its_overrides() -> None:
    book = load(GOOD)
    assert book.version == "t1"
    v = book.rule("v")
    assert v.counties == (47, 32) and v.hold_for == 1 and v.keep_for == 2 and v.min_count == 3
    assert v.detector_object == EarsC1(baseline=7, min_sigma=1.0)
    nairobi = v.for_county(47)
    assert nairobi.min_count == 6 and nairobi.detector_object == EarsC1(baseline=7, min_sigma=2.0)
    assert v.for_county(32).min_count == 3, "an override applies only to its counties"
    critical = book.rule("critical")
    assert critical.detector_object == Immediate() and critical.immediate_filter is not None
    assert critical.immediate_filter.types == ("killing",)
    assert critical.version == "t1"


def test_without_a_version_the_text_hash_is_the_version() -> None:
    text = GOOD.replace('version = "t1"\n', "")
    assert load(text).version.startswith("sha256:")
    assert load(text).version != load(text + "\n# changed\n").version


BAD = """\
version = 3
[[rule]]
name = "Bad Name"
detector = "ears-c9"
groups = ["violense"]
counties = [48, "Nairobbi"]
period = "month"
hold_for = -1
[rule.levels]
watch = 5
warning = 3
[[rule.override]]
min_count = 2

[[rule]]
name = "ok"
detector = "ears-c1"
groups = ["violence"]
min_cont = 3
[rule.params]
alpha = 2.0
baselin = 7
[rule.levels]
watch = 3
[[rule.override]]
counties = ["Nakuru"]
hold_for = "x"

[[rule]]
name = "ok"
detector = "quiet"
groups = ["none"]
[rule.levels]
watch = 3
"""


def test_every_error_is_reported_at_once_with_its_line_and_a_hint() -> None:
    book, errors = check(BAD)
    assert book is None
    by_line = {(e.line, e.message.split(":")[0]) for e in errors}
    lines = sorted({e.line for e in errors if e.line})
    # version, name, detector, groups, counties (both), period, hold_for, levels order, override counties,
    # unknown key min_cont, alpha, baselin, override hold_for, duplicate name, quiet levels
    assert lines == [1, 3, 4, 5, 6, 7, 8, 9, 12, 19, 21, 22, 27, 30, 33], by_line
    texts = "\n".join(e.format("r.toml") for e in errors)
    assert "r.toml:6: counties: 48" in texts and "'Nairobbi'" in texts and "did you mean 'Nairobi'" in texts
    assert "did you mean 'ears-c3'" in texts and "did you mean 'min_count'" in texts
    assert "did you mean 'baseline'" in texts and "used twice" in texts
    assert all(e.hint for e in errors if "unknown" in e.message)


def test_invalid_toml_is_one_error_with_its_line() -> None:
    book, errors = check('[[rule]]\nname = "a"\ngroups = [\n')
    assert book is None and len(errors) == 1 and errors[0].line is not None
    assert "not valid TOML" in errors[0].message


def test_an_empty_file_says_it_has_no_rule() -> None:
    _, errors = check("")
    assert [e.message for e in errors] == ["the rules file defines no [[rule]]"]


def test_load_raises_one_error_listing_all() -> None:
    try:
        load(BAD, "x.toml")
    except RulebookError as exc:
        assert len(exc.errors) >= 10 and str(exc).count("x.toml:") == len(exc.errors)
    else:
        raise AssertionError("BAD loaded")


def test_the_line_index_numbers_arrays_of_tables() -> None:
    index = line_index(GOOD)
    assert index[("rule", 0, "name")] == 3
    assert index[("rule", 0, "params", "min_sigma")] == 13
    assert index[("rule", 0, "override", 0, "counties")] == 18
    assert index[("rule", 1, "params", "types")] == 27


def test_levels_map_the_statistic_and_the_alarm() -> None:
    levels = Levels(watch=3, warning=5, alert=8)
    assert [levels.level_for(x, False) for x in (None, 2.9, 3, 5, 7.9, 8, 100)] == [
        Level.NORMAL, Level.NORMAL, Level.WATCH, Level.WARNING, Level.WARNING, Level.ALERT, Level.ALERT]
    assert Levels(on_alarm=Level.WATCH).level_for(None, True) == Level.WATCH
    assert Levels(watch=3, on_alarm=Level.WARNING).level_for(4, False) == Level.WATCH


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_no_text_makes_the_checker_raise(text: str) -> None:
    book, errors = check(text)
    assert (book is None) == bool(errors)


_FRAGMENTS = st.sampled_from([
    "[[rule]]\n", "[rule.params]\n", "[rule.levels]\n", "[[rule.override]]\n", 'name = "a"\n', 'name = 3\n',
    'detector = "ears-c1"\n', 'detector = "immediate"\n', 'detector = "quiet"\n', 'groups = ["violence"]\n',
    "groups = []\n", 'counties = "all"\n', "counties = [0, 1]\n", 'counties = ["Nakuru"]\n', 'period = "week"\n',
    "hold_for = 2\n", "keep_for = -1\n", "min_count = 1.5\n", "baseline = 2\n", "alpha = 0.5\n", "watch = 3\n",
    'on_alarm = "alert"\n', 'types = ["killing"]\n', 'types = "x"\n', "window = 0\n", 'require = "verified"\n',
    "k = 1e400\n", 'variant = "r"\n', "params = { min_sigma = 1 }\n", "levels = { alert = 2 }\n", 'version = ""\n'])


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=25))
def test_no_rules_file_built_of_real_keys_makes_the_checker_raise(parts: list[str]) -> None:
    book, errors = check("".join(parts))
    assert (book is None) == bool(errors)
    assert all(e.line is None or 1 <= e.line <= len(parts) + 1 for e in errors)


_SCALARS = st.one_of(st.integers(-100, 100), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                     st.text(max_size=12), st.sampled_from(["all", "day", "watch", "ears-c1", "immediate", "quiet",
                                                            "cusum", "violence", "Nakuru", "killing", "r"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["watch", "alert", "on_alarm", "baseline", "min_sigma", "types", "x"]), inner, max_size=3),
    max_leaves=8)


def _toml(value: object) -> str:
    """A TOML literal for a JSON-like value (inline tables and arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"


_KEYS = st.sampled_from(["name", "detector", "groups", "counties", "period", "hold_for", "keep_for", "min_count",
                         "params", "levels", "description", "override", "nonsense"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.dictionaries(_KEYS, _VALUES, max_size=10), min_size=1, max_size=3))
def test_no_value_of_any_type_under_any_key_makes_the_checker_raise(rules: list[dict[str, object]]) -> None:
    text = "".join("[[rule]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in r.items()) for r in rules)
    book, errors = check(text)
    assert (book is None) == bool(errors)
