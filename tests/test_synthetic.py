"""The synthetic history (rules/synthetic.py) has the parameters issue 14 fixes, and is the same for a seed."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

import numpy as np
import pytest

from rules import synthetic
from rules.vocabulary import group_of

Reports = list[dict[str, Any]]


@pytest.fixture(scope="module")
def history() -> tuple[Reports, list[synthetic.Episode]]:
    reports, episodes = synthetic.generate(14)
    return list(reports), episodes


def _day(report: dict[str, Any]) -> int:
    return (datetime.fromisoformat(report["occurred_at"]).date() - synthetic.START).days


def test_the_same_seed_gives_the_same_history() -> None:
    a, ea = synthetic.generate(3)
    b, eb = synthetic.generate(3)
    assert list(itertools.islice(a, 500)) == list(itertools.islice(b, 500)) and ea == eb
    _c, ec = synthetic.generate(4)
    assert ec != ea


def test_47_counties_three_years_daily_with_rates_from_0_1_to_5(history: tuple[Reports, list[Any]]) -> None:
    reports, episodes = history
    genuine = [r for r in reports if not r["flooding"] and r["repeat_of"] is None and r["review_status"] != "rejected"]
    assert {r["county_code"] for r in reports} == set(range(1, 48))
    days = {_day(r) for r in reports}
    assert min(days) == 0 and max(days) == synthetic.DAYS - 1 == 1094
    busy = {(e.county, (e.start - synthetic.START).days - 7 + k)
            for e in episodes for k in range((e.end - e.start).days + 8)}
    e0, e1 = ((d - synthetic.START).days for d in synthetic.ELECTION)
    per_county = Counter(r["county_code"] for r in genuine if (r["county_code"], _day(r)) not in busy
                         and not e0 <= _day(r) <= e1 and r["incident_type"] != "killing")
    quiet_days = {c: synthetic.DAYS - sum(1 for (cc, _d) in busy if cc == c) - (e1 - e0 + 1) for c in range(1, 48)}
    rates = sorted(per_county[c] / quiet_days[c] for c in range(1, 48))
    assert 0.05 < rates[0] < 0.2 and 4.5 < rates[-1] < 5.5, rates


def test_two_episodes_a_year_of_3_to_14_days_at_2_to_6x(history: tuple[Reports, list[Any]]) -> None:
    _, episodes = history
    assert len(episodes) == 47 * 3 * 2
    per = Counter((e.county, e.start.year) for e in episodes)
    assert set(per.values()) == {2} and {y for _c, y in per} == {2025, 2026, 2027}
    assert all(3 <= (e.end - e.start).days + 1 <= 14 and 2 <= e.peak <= 6 and 1 <= e.precursor_days <= 7
               for e in episodes)


def test_episodes_rise_and_threats_come_before_them(history: tuple[Reports, list[Any]]) -> None:
    reports, episodes = history
    counts: dict[tuple[int, str], np.ndarray] = defaultdict(lambda: np.zeros(synthetic.DAYS))
    for r in reports:
        if not r["flooding"] and r["repeat_of"] is None and r["review_status"] != "rejected":
            counts[(r["county_code"], group_of(r["incident_type"]))][_day(r)] += 1
    inside = before = normal_v = normal_t = 0.0
    for e in episodes:
        i, j = (e.start - synthetic.START).days, (e.end - synthetic.START).days
        v, t = counts[(e.county, "violence")], counts[(e.county, "tension")]
        inside += v[i:j + 1].mean()
        before += t[i - e.precursor_days:i].mean()
        normal_v += v[i - 28:i - 7].mean()
        normal_t += t[i - 28:i - 7].mean()
    assert inside > 4 * normal_v, "violence rises 2-6x the whole base rate during episodes"
    assert 1.6 * normal_t < before < 2.6 * normal_t, "threats and hate speech at 2x their base before onset"


def test_weekday_election_floods_and_repeats(history: tuple[Reports, list[Any]]) -> None:
    reports, _ = history
    weekday = Counter(datetime.fromisoformat(r["occurred_at"]).weekday() for r in reports if not r["flooding"])
    assert weekday[0] > 1.15 * weekday[6], "Mondays are busier than Sundays"
    e0, e1 = synthetic.ELECTION
    election = Counter(r["incident_type"] for r in reports if e0 <= date.fromisoformat(r["occurred_at"][:10]) <= e1)
    outside = Counter(r["incident_type"] for r in reports if date.fromisoformat(r["occurred_at"][:10]).year == 2026
                      and e0.replace(year=2026) <= date.fromisoformat(r["occurred_at"][:10]) <= e1.replace(year=2026))
    assert election["election_malpractice"] > 2 * outside["election_malpractice"]
    flooding = sum(r["flooding"] for r in reports)
    repeats = sum(r["repeat_of"] is not None for r in reports)
    assert 0.03 < flooding / len(reports) < 0.15 and 0.03 < repeats / len(reports) < 0.1
    ids = {r["id"]: r for r in reports}
    assert all(ids[r["repeat_of"]]["incident_type"] == r["incident_type"] for r in reports if r["repeat_of"])
    assert len(ids) == len(reports) and sorted(ids) == list(range(1, len(reports) + 1))


def test_write_makes_the_export_and_the_truth_files(tmp_path: Any) -> None:
    n, e = synthetic.write(tmp_path, seed=5)
    lines = (tmp_path / "reports.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == n and e == 282
    header = (tmp_path / "episodes.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("county,county_name,start,end")
