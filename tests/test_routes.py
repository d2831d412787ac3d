"""The routing tree: Alertmanager's first-match-wins semantics, the sample file's cases, and checking."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ews.alerting.routes import Matcher, Route, RoutingTree, parse_matcher, route
from ews.alerting.routes_file import RoutesFileError, check_routes, parse_routes, unused_receivers
from ews.cli.main import main

SAMPLE = Path(__file__).parent.parent / "routes.toml"
KISUMU = "42"


@pytest.fixture(scope="module")
def sample() -> RoutingTree:
    return parse_routes(SAMPLE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("level", "group", "expected"), [
    # The county's CSIC for WARNING and above.
    ("WARNING", "violence", ["county-csic"]),
    ("ALERT", "violence", ["county-csic", "national-desk"]),
    ("WATCH", "violence", ["analysts"]),  # nobody's: the root's receiver
    # Mediation partners for inter-communal or election-related alerts, at any level.
    ("WATCH", "communal", ["county-mediators"]),
    ("WARNING", "election", ["county-csic", "county-mediators"]),
    ("ALERT", "election", ["county-csic", "county-mediators", "national-desk"]),
    # The gender desk only for sexual and gender-based violence, whatever the level.
    ("WATCH", "sgbv", ["gender-desk"]),
    ("WARNING", "sgbv", ["gender-desk"]),
    ("ALERT", "sgbv", ["gender-desk"]),
    # A national desk for ALERT.
    ("ALERT", "tension", ["county-csic", "national-desk"]),
    ("WARNING", "tension", ["county-csic"]),
])
def test_the_sample_routes_the_issue_cases(sample: RoutingTree, level: str, group: str, expected: list[str]) -> None:
    labels = {"county": KISUMU, "level": level, "group": group, "rule": "reports_10m",
              "sensitive": str(group == "sgbv").lower()}
    assert route(sample, labels) == expected


def test_the_sample_receivers_pick_responders_by_role_county_and_channel(sample: RoutingTree) -> None:
    csic, desk = sample.receivers["county-csic"], sample.receivers["national-desk"]
    assert (csic.roles, csic.county, csic.channel) == (("csic",), "alert", "sms")
    assert (desk.roles, desk.county, desk.channel) == (("analyst",), "national", "email")
    assert unused_receivers(sample) == []


def tree(*children: Route, receiver: str = "root") -> RoutingTree:
    """A tree with a root receiver and these children (receivers are checked by the file reader only)."""
    return RoutingTree(root=Route(receiver=receiver, routes=children), receivers={})


def when(*matchers: str, receiver: str | None = None, routes: tuple[Route, ...] = (),
         cont: bool = False) -> Route:
    """A route from matcher strings."""
    return Route(matchers=tuple(parse_matcher(m) for m in matchers), receiver=receiver, routes=routes,
                 continue_=cont)


ALERT = {"county": "42", "level": "ALERT", "group": "violence", "rule": "r1", "sensitive": "false"}


@pytest.mark.parametrize(("name", "routes", "expected"), [
    ("no child matches: the root", tree(when("level = WATCH", receiver="a")), ["root"]),
    ("first match wins", tree(when("level = ALERT", receiver="a"), when("county = 42", receiver="b")), ["a"]),
    ("continue lets the next sibling match", tree(when("level = ALERT", receiver="a", cont=True),
                                                  when("county = 42", receiver="b")), ["a", "b"]),
    ("continue on a non-matching child changes nothing", tree(when("level = WATCH", receiver="a", cont=True),
                                                              when("county = 42", receiver="b")), ["b"]),
    ("the deepest match wins over its parent", tree(when("county = 42", receiver="a", routes=(
        when("group = violence", receiver="a1"),))), ["a1"]),
    ("a parent whose children miss is the match", tree(when("county = 42", receiver="a", routes=(
        when("group = sgbv", receiver="a1"),))), ["a"]),
    ("a child without a receiver inherits its parent's", tree(when("county = 42", receiver="a", routes=(
        when("level = ALERT"),))), ["a"]),
    ("inheritance reaches the root", tree(when("county = 42")), ["root"]),
    ("a matched subtree stops the siblings", tree(when("county = 42", routes=(when("level = WATCH", receiver="x"),)),
                                                  when("level = ALERT", receiver="b")), ["root"]),
    ("!= on another value", tree(when("group != sgbv", receiver="a")), ["a"]),
    ("=~ is anchored", tree(when("level =~ WARN", receiver="a")), ["root"]),
    ("=~ alternatives", tree(when("level =~ WARNING|ALERT", receiver="a")), ["a"]),
    ("!~", tree(when("group !~ sgbv|peace", receiver="a")), ["a"]),
    ("all matchers of a route must hold", tree(when("county = 42", "level = WATCH", receiver="a")), ["root"]),
    ("a missing label reads as empty", tree(when("missing = ", receiver="a")), ["a"]),
    ("each receiver once", tree(when("level = ALERT", receiver="a", cont=True), when("county = 42", receiver="a")),
     ["a"]),
])
def test_alertmanager_semantics(name: str, routes: RoutingTree, expected: list[str]) -> None:
    assert route(routes, ALERT) == expected, name


def test_matchers_parse_their_operators() -> None:
    assert parse_matcher("level!=WATCH") == Matcher("level", "!=", "WATCH")
    assert parse_matcher('rule = "a=~b"') == Matcher("rule", "=", "a=~b")
    assert parse_matcher("group =~ communal|election").op == "=~"
    with pytest.raises(ValueError, match="bad regex"):
        parse_matcher("rule =~ (")
    with pytest.raises(ValueError, match="op one of"):
        parse_matcher("level ALERT")


def with_routes(body: str) -> str:
    """A file with one valid receiver and the given route section."""
    return '[[receiver]]\nname = "csic"\nroles = ["csic"]\nchannel = "sms"\n\n' + body


PROBLEMS = [
    # (file, line, message part, hint part)
    ("[route\nreceiver = 1\n", 1, "not valid TOML", "check quotes"),
    (with_routes('[route]\nreceiver = "csic"\nx = 1\n[[route.routes]]\nmatchers = ["level = ALERT"]\n'
                 'receiver = "csci"\n'), 11, "receiver 'csci' is not defined", "did you mean 'csic'?"),
    (with_routes('[route]\nreceiver = "csic"\n\n[[route.routes]]\nmatchers = ["levle = ALERT"]\n'), 10,
     "unknown label 'levle'", "did you mean 'level'?"),
    (with_routes('[route]\nreceiver = "csic"\n\n[[route.routes]]\nmatchers = ["level = ALRT"]\n'), 10,
     "level is never 'ALRT'", "did you mean 'ALERT'?"),
    (with_routes('[route]\nreceiver = "csic"\n\n[[route.routes]]\nmatchers = ["level =~ WARN"]\n'), 10,
     "matches no level", "whole value"),
    (with_routes('[route]\nreceiver = "csic"\n\n[[route.routes]]\nmatchers = ["county = Kisumuu"]\n'), 10,
     "unknown county 'Kisumuu'", "county name"),
    (with_routes('[route]\nreceiver = "csic"\n\n[[route.routes]]\nmatchers = ["group =~ ("]\n'), 10, "bad regex",
     "e.g."),
    (with_routes('[route]\nreceiver = "csic"\n\n[[route.routes]]\nmatchers = ["level"]\n'), 10, "not `label op value`",
     "e.g."),
    (with_routes('[route]\nreceiver = "csic"\n\n[[route.routes]]\nreceiver = "csic"\ncontinu = true\n'), 11,
     "unknown key 'continu'", "did you mean 'continue'?"),
    (with_routes('[route]\nreceiver = "csic"\n\n[[route.routes]]\nreceiver = "csic"\ncontinue = "yes"\n'), 11,
     "continue must be true or false", "continue = true"),
    (with_routes('[route]\nmatchers = ["level = ALERT"]\nreceiver = "csic"\n'), 7, "the root route has matchers",
     "[[route.routes]]"),
    (with_routes('[route]\n\n[[route.routes]]\nreceiver = "csic"\n'), 6, "the root route has no receiver",
     "root's receiver"),
    (with_routes(""), 1, "no [route] table", "add [route]"),
    ('[[receiver]]\nname = "a"\nchannel = "fax"\n[route]\nreceiver = "a"\n', 3, "channel 'fax' unknown",
     "sms, email, webhook"),
    ('[[receiver]]\nname = "a"\nchannel = "sms"\nroles = ["csik"]\n[route]\nreceiver = "a"\n', 4,
     "unknown role 'csik'", "did you mean 'csic'?"),
    ('[[receiver]]\nname = "a"\nchannel = "sms"\ncounty = "Atlantis"\n[route]\nreceiver = "a"\n', 4,
     "unknown county 'Atlantis'", "national"),
    ('[[receiver]]\nname = "a"\nchannel = "sms"\n[[receiver]]\nname = "a"\nchannel = "sms"\n[route]\n'
     'receiver = "a"\n', 5, "defined twice", "own name"),
    (with_routes('[route]\nreceiver = "csic"\nroutes = [{receiver = "csic"}]\n'), 6, "inline", "[[route.routes]]"),
]


@pytest.mark.parametrize(("text", "line", "message", "hint"), PROBLEMS,
                         ids=[p[2] for p in PROBLEMS])
def test_every_problem_has_its_line_and_a_hint(text: str, line: int, message: str, hint: str) -> None:
    problems = check_routes(text)
    assert any(p.line == line and message in p.message and hint in p.hint for p in problems), problems
    with pytest.raises(RoutesFileError):
        parse_routes(text)


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = with_routes('[route]\nreceiver = "csic"\n\n[[route.routes]]\nmatchers = ["levle = ALERT"]\n'
                       'receiver = "nobody"\n\n[[route.routes]]\nmatchers = ["group = sgvb"]\ncontinu = true\n')
    found = [(p.line, p.message.split(": ", 1)[1]) for p in check_routes(text)]
    assert found == [(10, "unknown label 'levle'"), (11, "receiver 'nobody' is not defined"),
                     (14, "group is never 'sgvb'"), (15, "unknown key 'continu'")]


def test_county_names_in_matchers_become_codes() -> None:
    parsed = parse_routes(with_routes('[route]\nreceiver = "csic"\n[[route.routes]]\nmatchers = ["county = Homa Bay"]\n'
                                      'receiver = "csic"\n'))
    assert parsed.root.routes[0].matchers[0] == Matcher("county", "=", "43")


def test_ews_routes_check_and_test(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["routes", "check", str(SAMPLE)]) == 0
    assert "ok (5 receivers)" in capsys.readouterr().out
    bad = tmp_path / "routes.toml"
    bad.write_text(with_routes('[route]\nreceiver = "csic"\n\n[[route.routes]]\nmatchers = ["level = ALRT"]\n'))
    assert main(["routes", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:10: route at line 9: level is never 'ALRT' (hint: did you mean 'ALERT'?)" in err
    assert main(["routes", "test", str(SAMPLE), "county=Kisumu", "level=ALERT", "group=sgbv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in out] == ["gender-desk"]
    assert main(["routes", "test", str(SAMPLE), "colour=red"]) == 2


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_checking_any_text_reports_problems_and_never_raises(text: str) -> None:
    problems = check_routes(text)
    assert all(p.line >= 1 and p.message for p in problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet="levlcounty=!~ALERTWARNING|()[]*.sgbv42 ", max_size=30), max_size=4),
       st.sampled_from(["true", "1", '"x"', "false"]))
def test_checking_any_route_section_never_raises(matchers: list[str], cont: str) -> None:
    quoted = ", ".join('"' + m.replace("\\", "").replace('"', "") + '"' for m in matchers)
    text = with_routes(f'[route]\nreceiver = "csic"\n[[route.routes]]\nmatchers = [{quoted}]\ncontinue = {cont}\n'
                       'receiver = "csic"\n')
    problems = check_routes(text)
    if not problems:
        assert route(parse_routes(text), ALERT) in (["csic"],)
