"""Inhibition, grouping and the notification log (pure, with an injected clock), and the routing file's
grouping, [[inhibit]] and [[policy]] sections (line-numbered problems; property-based)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ews.alerting.grouping import (
    AlertState,
    LogEntry,
    Plan,
    alert_fingerprint,
    group_fingerprint,
    plan_notifications,
    policy_for,
)
from ews.alerting.inhibit import Firing, inhibited_by
from ews.alerting.routes import DEFAULT_INHIBIT, RoutingTree, Timing, matches
from ews.alerting.routes_file import check_routes, parse_routes
from ews.alerting.silences import Silence, parse_matchers

SAMPLE = Path(__file__).parent.parent / "routes.toml"
T0 = datetime(2027, 8, 9, 12, 0, tzinfo=UTC)
S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)

ONE_ROUTE = """
[[receiver]]
name = "csic"
roles = ["csic"]
channel = "sms"

[route]
receiver = "csic"
group_wait = "30s"
group_interval = "5m"
repeat_interval = "4h"
"""


def alert(aid: int, county: str = "42", level: str = "WARNING", group: str = "communal",
          opened: datetime = T0) -> AlertState:
    return AlertState(aid, {"county": county, "level": level, "group": group, "rule": f"r{aid}",
                            "sensitive": "false"}, opened)


class Receiver:
    """A receiver's side of the loop: plans at a time, 'sends' what is due, and keeps the log."""

    def __init__(self, tree: RoutingTree) -> None:
        self.tree = tree
        self.log: dict[tuple[str, str], LogEntry] = {}
        self.sent: list[tuple[datetime, str, str, str, tuple[tuple[int, str], ...], str]] = []

    def tick(self, alerts: list[AlertState], now: datetime, silences: tuple[Silence, ...] = ()) -> Plan:
        plan = plan_notifications(self.tree, alerts, silences, self.log.values(), now)
        for n in plan.notifications:
            self.log[(n.receiver, n.group_key)] = n.logged(now)
            self.sent.append((now, n.receiver, n.status, n.reason, n.alerts, n.group_key))
        return plan


def test_a_new_group_waits_group_wait_then_is_sent_once() -> None:
    loop = Receiver(parse_routes(ONE_ROUTE))
    first = [alert(1)]
    assert loop.tick(first, T0 + 29 * S).next_at == T0 + 30 * S
    assert loop.sent == []
    loop.tick(first, T0 + 30 * S)
    assert [(s[2], s[3], s[4]) for s in loop.sent] == [("firing", "new", ((1, "WARNING"),))]
    for minute in range(1, 239):  # the same state, asked every minute: nothing until the repeat is due
        loop.tick(first, T0 + 30 * S + minute * M)
    assert len(loop.sent) == 1
    loop.tick(first, T0 + 30 * S + 4 * H)
    assert [s[3] for s in loop.sent] == ["new", "repeat"]


def test_an_acknowledged_group_is_not_repeated_until_it_changes() -> None:
    loop = Receiver(parse_routes(ONE_ROUTE))
    loop.tick([alert(1), alert(2)], T0 + 30 * S)
    acked = [replace(alert(1), acknowledged=True), replace(alert(2), acknowledged=True)]
    half = [replace(alert(1), acknowledged=True), alert(2)]
    loop.tick(half, T0 + 30 * S + 4 * H)
    assert [s[3] for s in loop.sent] == ["new", "repeat"], "one alert still unanswered: reminded"
    loop.tick(acked, T0 + 30 * S + 9 * H)
    assert [s[3] for s in loop.sent] == ["new", "repeat"], "everyone answered: no reminder"
    loop.tick([acked[0], replace(alert(2, level="ALERT"), acknowledged=True)], T0 + 10 * H)
    assert [s[3] for s in loop.sent] == ["new", "repeat", "changed"], "a change is still told"


def test_alerts_arriving_during_group_wait_go_in_one_message() -> None:
    loop = Receiver(parse_routes(ONE_ROUTE))
    loop.tick([alert(1)], T0 + 10 * S)
    loop.tick([alert(1), alert(2, opened=T0 + 20 * S)], T0 + 30 * S)
    assert [s[4] for s in loop.sent] == [((1, "WARNING"), (2, "WARNING"))]


def test_a_change_waits_group_interval_and_a_level_change_is_a_change() -> None:
    loop = Receiver(parse_routes(ONE_ROUTE))
    loop.tick([alert(1)], T0 + 30 * S)
    raised = [alert(1, level="ALERT")]
    plan = loop.tick(raised, T0 + 31 * S)
    assert plan.notifications == () and plan.next_at == T0 + 5 * M + 30 * S
    loop.tick(raised, T0 + 5 * M + 30 * S)
    assert [(s[3], s[4]) for s in loop.sent][-1] == ("changed", ((1, "ALERT"),))


def test_a_resolved_group_gets_one_resolved_message_and_a_new_one_waits_again() -> None:
    loop = Receiver(parse_routes(ONE_ROUTE))
    loop.tick([alert(1)], T0 + 30 * S)
    loop.tick([], T0 + 40 * S)
    loop.tick([], T0 + 50 * S)
    assert [(s[2], s[4]) for s in loop.sent] == [("firing", ((1, "WARNING"),)), ("resolved", ((1, "WARNING"),))]
    loop.tick([alert(2, opened=T0 + H)], T0 + H + 10 * S)
    assert len(loop.sent) == 2  # a new group: group_wait again
    loop.tick([alert(2, opened=T0 + H)], T0 + H + 30 * S)
    assert loop.sent[-1][3] == "new"


def test_one_alert_of_two_resolving_is_a_change_not_a_resolution() -> None:
    loop = Receiver(parse_routes(ONE_ROUTE))
    loop.tick([alert(1), alert(2)], T0 + 30 * S)
    plan = plan_notifications(loop.tree, [alert(1)], (), loop.log.values(), T0 + 6 * M)
    (n,) = plan.notifications
    assert (n.status, n.reason, n.alerts, n.previous) == ("firing", "changed", ((1, "WARNING"),),
                                                          ((1, "WARNING"), (2, "WARNING")))


def test_after_an_outage_the_receiver_gets_the_current_state_once() -> None:
    loop = Receiver(parse_routes(ONE_ROUTE))
    loop.tick([alert(1, level="WATCH")], T0 + 30 * S)
    # The planner did not run for 40 minutes while the alert went WATCH -> WARNING -> ALERT -> WARNING;
    # when it runs again it says the current state, once.
    loop.tick([alert(1, level="WARNING"), alert(2, county="42", level="WATCH")], T0 + 40 * M)
    loop.tick([alert(1, level="WARNING"), alert(2, county="42", level="WATCH")], T0 + 41 * M)
    assert [(s[3], s[4]) for s in loop.sent] == [("new", ((1, "WATCH"),)),
                                                 ("changed", ((1, "WARNING"), (2, "WATCH")))]


def test_groups_are_per_county_by_default_and_per_route_group_by() -> None:
    loop = Receiver(parse_routes(ONE_ROUTE))
    loop.tick([alert(1, county="42"), alert(2, county="47")], T0 + 30 * S)
    assert sorted((s[4]) for s in loop.sent) == [((1, "WARNING"),), ((2, "WARNING"),)]
    by_all = Receiver(parse_routes(ONE_ROUTE + 'group_by = []\n'))
    by_all.tick([alert(1, county="42"), alert(2, county="47")], T0 + 30 * S)
    assert [s[4] for s in by_all.sent] == [((1, "WARNING"), (2, "WARNING"))]


def test_the_sample_sends_alert_level_to_the_csic_and_national_desk_at_once() -> None:
    loop = Receiver(parse_routes(SAMPLE.read_text(encoding="utf-8")))
    loop.tick([alert(1, level="ALERT", group="violence")], T0)
    assert sorted(s[1] for s in loop.sent) == ["county-csic", "national-desk"]
    # A WARNING in another county waits the root's group_wait.
    loop.tick([alert(1, level="ALERT", group="violence"), alert(2, county="1", opened=T0)], T0 + 29 * S)
    assert len(loop.sent) == 2
    loop.tick([alert(1, level="ALERT", group="violence"), alert(2, county="1", opened=T0)], T0 + 30 * S)
    assert ("county-csic", ((2, "WARNING"),)) in [(s[1], s[4]) for s in loop.sent]


def test_route_settings_are_inherited_as_in_alertmanager() -> None:
    tree = parse_routes(SAMPLE.read_text(encoding="utf-8"))
    warning = {"county": "42", "level": "WARNING", "group": "communal"}
    got = {m.receiver: m for m in matches(tree, warning)}
    assert got["county-csic"].timing == Timing(("county",), 30 * S, 5 * M, 4 * H)
    assert got["county-csic"].policy == "county-escalation"
    assert got["county-mediators"].policy is None
    alert_level = {m.receiver: m for m in matches(tree, {**warning, "level": "ALERT"})}
    assert alert_level["county-csic"].timing == Timing(("county",), 0 * S, 0 * S, 4 * H)
    assert alert_level["county-csic"].policy == "county-escalation"  # from the parent route
    assert policy_for(tree, warning) == "county-escalation"
    assert policy_for(tree, {**warning, "level": "WATCH", "group": "tension"}) is None


def test_an_alert_in_a_county_inhibits_its_warning_and_watch_for_the_receivers_it_reaches() -> None:
    loop = Receiver(parse_routes(SAMPLE.read_text(encoding="utf-8")))
    warning, watch = alert(1, level="WARNING", group="communal"), alert(2, level="WATCH", group="communal")
    sgbv = alert(3, level="WARNING", group="sgbv")
    elsewhere = alert(4, county="1", level="WARNING", group="communal", opened=T0)
    loop.tick([warning, watch, sgbv, elsewhere], T0 + 30 * S)
    before = len(loop.sent)
    severe = alert(5, level="ALERT", group="violence", opened=T0 + M)
    plan = loop.tick([warning, watch, sgbv, elsewhere, severe], T0 + M)
    muted = {(m.alert_id, m.receiver) for m in plan.muted}
    assert (1, "county-csic") in muted  # the ALERT reaches the CSIC: its WARNING is muted for them
    assert all(m.why == "inhibited by A-5" for m in plan.muted)
    assert not any(m.alert_id in (3, 4) for m in plan.muted)  # gender desk: never told of A-5; other county
    # The CSIC is told of the ALERT at once (group_wait 0s and group_interval 0s on its ALERT route).
    csic = [s for s in loop.sent[before:] if s[1] == "county-csic"]
    assert [s[4] for s in csic] == [((5, "ALERT"),)]
    # The ALERT closes: the WARNING is no longer muted, and the CSIC hears of it again after group_interval.
    plan = plan_notifications(loop.tree, [warning, watch, sgbv, elsewhere], (), loop.log.values(), T0 + 2 * M)
    assert plan.muted == () and not any(n.receiver == "county-csic" and n.group_key == "county=42"
                                        for n in plan.notifications)
    plan = plan_notifications(loop.tree, [warning, watch, sgbv, elsewhere], (), loop.log.values(), T0 + 7 * M)
    assert any(n.receiver == "county-csic" and n.alerts == ((1, "WARNING"),) for n in plan.notifications)


def test_inhibition_needs_equal_labels_and_never_mutes_itself() -> None:
    labels = {"county": "42", "level": "WARNING"}
    assert inhibited_by(labels, 1, [Firing(2, {"county": "42", "level": "ALERT"})], [DEFAULT_INHIBIT]) is not None
    assert inhibited_by(labels, 1, [Firing(2, {"county": "47", "level": "ALERT"})], [DEFAULT_INHIBIT]) is None
    assert inhibited_by(labels, 1, [Firing(2, {"county": "42", "level": "WARNING"})], [DEFAULT_INHIBIT]) is None
    alert_labels = {"county": "42", "level": "ALERT"}
    assert inhibited_by(alert_labels, 1, [Firing(1, alert_labels)], [DEFAULT_INHIBIT]) is None


def test_file_inhibit_rules_add_to_the_built_in_one() -> None:
    tree = parse_routes(ONE_ROUTE + '\n[[inhibit]]\nsource = ["group = violence"]\ntarget = ["group = tension"]\n'
                        'equal = ["county"]\n')
    assert tree.inhibit[0] == DEFAULT_INHIBIT and len(tree.inhibit) == 2
    loop = Receiver(tree)
    plan = loop.tick([alert(1, group="tension", level="WATCH"), alert(2, group="violence", level="WATCH")],
                     T0 + 30 * S)
    assert [(m.alert_id, m.why) for m in plan.muted] == [(1, "inhibited by A-2")]


def test_silenced_alerts_are_told_to_nobody_until_the_silence_ends() -> None:
    loop = Receiver(parse_routes(ONE_ROUTE))
    silence = Silence(7, parse_matchers(["county=Kisumu"]), T0, T0 + H, "Achieng", "on site", T0)
    plan = loop.tick([alert(1)], T0 + 30 * S, (silence,))
    assert loop.sent == [] and [(m.alert_id, m.receiver, m.why) for m in plan.muted] == [(1, None, "silence 7")]
    loop.tick([alert(1)], T0 + H, (silence,))  # the silence has ended (ends_at is exclusive)
    assert [s[3] for s in loop.sent] == ["new"]


def test_a_silenced_alert_does_not_inhibit() -> None:
    loop = Receiver(parse_routes(ONE_ROUTE))
    silence = Silence(1, parse_matchers(["level=ALERT"]), T0, T0 + H, "a", "b", T0)
    loop.tick([alert(1), alert(2, level="ALERT")], T0 + 30 * S, (silence,))
    assert [s[4] for s in loop.sent] == [((1, "WARNING"),)]


def test_fingerprints_are_stable_hashes() -> None:
    a = {"county": "42", "level": "WARNING"}
    assert alert_fingerprint(a) == alert_fingerprint(dict(reversed(list(a.items()))))
    assert alert_fingerprint(a) != alert_fingerprint({**a, "level": "ALERT"})
    assert group_fingerprint(((2, "WATCH"), (1, "ALERT"))) == group_fingerprint(((1, "ALERT"), (2, "WATCH")))
    assert group_fingerprint(((1, "ALERT"),)) != group_fingerprint(((1, "WARNING"),))
    assert len(alert_fingerprint(a)) == 16


def with_receiver(body: str) -> str:
    return '[[receiver]]\nname = "csic"\nroles = ["csic"]\nchannel = "sms"\n\n[route]\nreceiver = "csic"\n' + body


PROBLEMS = [
    (with_receiver('group_wait = "soon"\n'), 8, "group_wait: 'soon' is not a duration"),
    (with_receiver('repeat_interval = "10s"\n'), 8, "repeat_interval under 1m"),
    (with_receiver('group_by = ["countee"]\n'), 8, "unknown label 'countee'"),
    (with_receiver('policy = "nope"\n'), 8, "policy 'nope' is not defined"),
    (with_receiver('\n[[inhibit]]\nsource = ["level = ALRT"]\ntarget = ["level = WATCH"]\n'), 10, "level is never"),
    (with_receiver('\n[[inhibit]]\ntarget = ["level = WATCH"]\n'), 9, "no source matchers"),
    (with_receiver('\n[[inhibit]]\nsource = ["level = ALERT"]\ntarget = ["level = WATCH"]\nequal = ["x"]\n'), 12,
     "equal: unknown label 'x'"),
    (with_receiver('\n[[inhibit]]\nsource = ["level = ALERT"]\ntarget = ["level = WATCH"]\nsame = 1\n'), 12,
     "unknown key 'same'"),
    (with_receiver('\n[[policy]]\nname = "p"\n'), 9, "policy 'p' has no tiers"),
    (with_receiver('\n[[policy]]\nname = "p"\nrepeat = 99\n[[policy.tier]]\nreceivers = ["csic"]\n'
                   'timeout = "1m"\n'), 11, "repeat must be 0 to 10"),
    (with_receiver('\n[[policy]]\nname = "p"\n[[policy.tier]]\nreceivers = ["csci"]\ntimeout = "15m"\n'), 12,
     "receiver 'csci' is not defined"),
    (with_receiver('\n[[policy]]\nname = "p"\n[[policy.tier]]\nreceivers = ["csic"]\ntimeout = "0s"\n'), 13,
     "timeout must be over 0s"),
    (with_receiver('\n[[policy]]\nname = "p"\n[[policy.tier]]\nreceivers = ["csic"]\ntimeout = "15m"\n'
                   '[[policy.tier]]\nreceivers = ["csic"]\ntimeout = "x"\n'), 16, "tier 2: timeout: 'x'"),
    (with_receiver('\n[[polcy]]\nname = "p"\n'), 1, "unknown top-level key 'polcy'"),
]


@pytest.mark.parametrize(("text", "line", "message"), PROBLEMS)
def test_grouping_inhibit_and_policy_problems_name_their_line(text: str, line: int, message: str) -> None:
    problems = check_routes(text)
    assert [(p.line, message in p.message) for p in problems] == [(line, True)], problems


def test_a_policy_is_parsed_with_its_tiers() -> None:
    tree = parse_routes(SAMPLE.read_text(encoding="utf-8"))
    policy = tree.policies["county-escalation"]
    assert [(t.receivers, t.timeout) for t in policy.tiers] == [
        (("county-csic",), 15 * M), (("county-mediators",), 15 * M), (("national-desk",), 30 * M)]
    assert policy.repeat == 1


_DURATION = st.one_of(st.sampled_from(["0s", "30s", "5m", "4h", "1d", "1h30m", "", "5", "m", "-1m", "1y"]),
                      st.text(alphabet="0123456789smhdw", max_size=5))
_LABELS = st.lists(st.sampled_from(["county", "level", "group", "rule", "sensitive", "colour", ""]), max_size=3)
_MATCHER = st.sampled_from(["level = ALERT", "level =~ WATCH|WARNING", "group = sgbv", "county = Kisumu",
                            "county = Atlantis", "level = RED", "x", "group !~ peace"])


@given(_DURATION, _DURATION, _DURATION, _LABELS, st.lists(_MATCHER, max_size=3), st.lists(_MATCHER, max_size=3),
       _LABELS, st.integers(-2, 12), _DURATION)
def test_checking_any_grouping_inhibit_or_policy_section_never_raises(
        wait: str, interval: str, repeat: str, group_by: list[str], source: list[str], target: list[str],
        equal: list[str], loops: int, timeout: str) -> None:
    def strings(items: list[str]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    text = with_receiver(f'group_wait = "{wait}"\ngroup_interval = "{interval}"\nrepeat_interval = "{repeat}"\n'
                         f'group_by = {strings(group_by)}\npolicy = "p"\n\n[[inhibit]]\nsource = {strings(source)}\n'
                         f'target = {strings(target)}\nequal = {strings(equal)}\n\n[[policy]]\nname = "p"\n'
                         f'repeat = {loops}\n[[policy.tier]]\nreceivers = ["csic"]\ntimeout = "{timeout}"\n')
    problems = check_routes(text)
    assert all(p.line >= 1 and p.message for p in problems)
    if not problems:
        tree = parse_routes(text)
        assert tree.root.policy == "p" and len(tree.inhibit) == 2
        plan_notifications(tree, [alert(1), alert(2, level="ALERT")], (), (), T0 + H)


def test_routes_test_shows_grouping_and_policy(capsys: pytest.CaptureFixture[str]) -> None:
    from ews.cli.main import main

    assert main(["routes", "test", str(SAMPLE), "county=Kisumu", "level=ALERT", "group=election"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert lines[0][0] == "county-csic" and lines[0][4] == "group_by=county wait=0s interval=0s repeat=4h"
    assert lines[0][5] == "policy=county-escalation" and lines[1][5] == "policy=-"


_STEP = st.tuples(st.sampled_from(["open", "level", "close", "wait"]), st.integers(0, 7),
                  st.sampled_from(["WATCH", "WARNING", "ALERT"]), st.sampled_from(["42", "47"]),
                  st.integers(0, 3 * 3600))


@settings(max_examples=150)
@given(st.lists(_STEP, max_size=30))
@example([("open", 0, "WARNING", "42", 0), ("wait", 0, "WATCH", "42", 600), ("wait", 0, "WATCH", "42", 600),
          ("level", 0, "ALERT", "42", 0), ("wait", 0, "WATCH", "42", 60), ("open", 0, "WATCH", "42", 0),
          ("wait", 0, "WATCH", "42", 300), ("close", 0, "WATCH", "42", 0), ("close", 0, "WATCH", "42", 0),
          ("wait", 0, "WATCH", "42", 5 * 3600)])
def test_nobody_gets_the_same_thing_twice_unless_it_changed_or_the_repeat_is_due(
        steps: list[tuple[str, int, str, str, int]]) -> None:
    tree = parse_routes(ONE_ROUTE)
    loop = Receiver(tree)
    now, next_id = T0, 1
    open_alerts: dict[int, AlertState] = {}
    for kind, pick, level, county, seconds in steps:
        ids = sorted(open_alerts)
        if kind == "open":
            open_alerts[next_id] = alert(next_id, county=county, level=level, opened=now)
            next_id += 1
        elif kind == "level" and ids:
            old = open_alerts[ids[pick % len(ids)]]
            open_alerts[old.id] = AlertState(old.id, {**old.labels, "level": level}, old.opened_at)
        elif kind == "close" and ids:
            del open_alerts[ids[pick % len(ids)]]
        else:
            now += timedelta(seconds=seconds)
        loop.tick(list(open_alerts.values()), now)
    by_group: dict[tuple[str, str], list[tuple[datetime, str, tuple[tuple[int, str], ...]]]] = {}
    for at, receiver, status, _reason, alerts, key in loop.sent:
        by_group.setdefault((receiver, key), []).append((at, status, alerts))
    for messages in by_group.values():
        for (at1, status1, alerts1), (at2, status2, alerts2) in itertools.pairwise(messages):
            assert not (status1 == status2 == "resolved"), messages
            if status1 == "resolved":
                continue  # then a new group: group_wait from its oldest alert
            if status2 == "firing" and alerts2 == alerts1:
                assert at2 - at1 >= 4 * H, (messages, "the same thing twice before the repeat")
            elif status2 == "firing":
                assert at2 - at1 >= 5 * M, (messages, "a change sooner than group_interval")
    # What was last said of each group is its current state (an ALERT mutes its county's others), or its
    # resolution; unless saying the change is not due yet.
    for (_receiver, key), messages in by_group.items():
        county = [a for a in open_alerts.values() if f"county={a.labels['county']}" == key]
        if any(a.labels["level"] == "ALERT" for a in county):
            county = [a for a in county if a.labels["level"] == "ALERT"]
        current = tuple(sorted((a.id, a.labels["level"]) for a in county))
        at, status, alerts = messages[-1]
        if status == "resolved":
            assert not county or min(a.opened_at for a in county) + 30 * S > now
        else:
            assert county and (alerts == current or now < at + 5 * M), (messages, current)
