"""A seeded synthetic history of reports for tuning and testing the escalation rules (issue 14).

Its parameters are FIXED by the issue and must not change while the default rules are tuned:
47 counties x 3 years daily; county base rates from 0.1 to 5 reports a day; a weekday effect; one election
window of 8 weeks at 1.5x base; per county two episodes a year of 3-14 days rising to 2-6x base, each
preceded on 1-7 days by threat or hate-speech reports at 2x their base; a share of reports from flooding
senders and repeats that the engine must ignore. The choices the issue leaves open are fixed here too
(the constants below, chosen before any tuning): base rates evenly spaced over 0.1-5 and dealt to counties
at random; the episode's extra reports are violence (70%) and communal clashes (30%), its first day half
way up; killings outside episodes are rare (one per county in about three years).

    python -m rules.synthetic --out DIR [--seed 14]

writes DIR/reports.jsonl (the `ews export` format: one API report object per line, with the intake's
`flooding`, `repeat_of` and `trust` marks that an export of the database carries too) and DIR/episodes.csv
(county, county_name, start, end, peak, precursor_days; dates inclusive, Kenya time).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ews.core.models import KENYA_TIME as EAT
from ews.core.models import report_reference
from rules.gazetteer.counties import COUNTIES
from rules.vocabulary import incident_type

START = date(2025, 1, 1)
YEARS = 3
DAYS = 365 * YEARS  # 2025-01-01 .. 2027-12-31
BASE_LOW, BASE_HIGH = 0.1, 5.0
WEEKDAY = (1.10, 1.05, 1.00, 1.00, 1.05, 0.95, 0.85)  # Monday .. Sunday; mean 1
ELECTION = (date(2027, 7, 12), date(2027, 9, 5))  # 8 weeks around the general election of 9 August 2027
ELECTION_FACTOR = 1.5
EPISODES_PER_YEAR = 2
EPISODE_DAYS = (3, 14)
EPISODE_PEAK = (2.0, 6.0)
PRECURSOR_DAYS = (1, 7)
PRECURSOR_FACTOR = 2.0
EPISODE_GAP_DAYS = 21  # between one episode's end and the next one's precursor: the truth stays separable
# Shares of a county's base rate by group (sum 1), and the types within each group.
GROUP_SHARES = {"violence": 0.30, "tension": 0.25, "communal": 0.15, "election": 0.10, "sgbv": 0.05,
                "peace": 0.10, "none": 0.05}
TYPES = {
    "violence": {"physical_assault": 0.60, "arson_property": 0.25, "armed_attack": 0.15},
    "tension": {"threat_intimidation": 0.55, "hate_speech_incitement": 0.45},
    "communal": {"intercommunal_resource_conflict": 0.5, "cattle_raiding": 0.3, "displacement": 0.2},
    "election": {"election_malpractice": 0.5, "protest_demonstration": 0.5},
    "sgbv": {"sgbv": 1.0}, "peace": {"peace_activity": 1.0}, "none": {"not_incident": 1.0},
}
EPISODE_TYPES = {"killing": 0.08, "armed_attack": 0.30, "physical_assault": 0.40, "arson_property": 0.22}
EPISODE_COMMUNAL = 0.30  # the share of an episode's extra reports that are communal clashes
ELECTION_EXTRA = {"election_malpractice": 0.35, "protest_demonstration": 0.25, "threat_intimidation": 0.2,
                  "hate_speech_incitement": 0.2}
KILLINGS_PER_DAY = 0.001  # per county outside episodes
CASUALTY_SHARE = 0.5  # of armed attacks in an episode (outside: none)
VERIFIED_SHARE, MONITOR_SHARE, MONITOR_TRUST = 0.06, 0.10, 0.8
REJECTED_SHARE = 0.03  # false reports an analyst rejected, on top of the genuine ones
REPEAT_SHARE = 0.06  # genuine reports sent again by the same sender
FLOODS_PER_YEAR = 4  # per county: one sender sends 8-30 reports in a day
FLOOD_SIZE = (8, 30)
CHANNELS = ("at_sms", "at_sms", "at_ussd", "twilio_sms", "web_form")


@dataclass(frozen=True, slots=True)
class Episode:
    """One escalation of the truth: county, first and last day (inclusive), peak factor, precursor days."""

    county: int
    start: date
    end: date
    peak: float
    precursor_days: int


def base_rates(rng: np.random.Generator) -> dict[int, float]:
    """Each county's base rate (reports a day): evenly spaced over 0.1-5, dealt to counties at random."""
    rates = np.linspace(BASE_LOW, BASE_HIGH, len(COUNTIES))
    order = rng.permutation(len(COUNTIES))
    return {c.code: float(rates[order[i]]) for i, c in enumerate(COUNTIES)}


def episodes(rng: np.random.Generator) -> list[Episode]:
    """Two episodes per county and year, apart from each other by their precursors and a gap."""
    found: list[Episode] = []
    for county in COUNTIES:
        for year in range(YEARS):
            first, last = 30 + 365 * year, 365 * (year + 1) - EPISODE_DAYS[1] - 1
            while True:
                picks = []
                for _ in range(EPISODES_PER_YEAR):
                    length = int(rng.integers(EPISODE_DAYS[0], EPISODE_DAYS[1] + 1))
                    picks.append((int(rng.integers(first, last)), length, float(rng.uniform(*EPISODE_PEAK)),
                                  int(rng.integers(PRECURSOR_DAYS[0], PRECURSOR_DAYS[1] + 1))))
                picks.sort()
                if all(b[0] - b[3] - (a[0] + a[1]) >= EPISODE_GAP_DAYS for a, b in itertools.pairwise(picks)):
                    break
            for day, length, peak, pre in picks:
                start = START + timedelta(days=day)
                found.append(Episode(county.code, start, start + timedelta(days=length - 1), peak, pre))
    return found


def _pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> list[str]:
    names = list(shares)
    p = np.array([shares[k] for k in names])
    return [names[i] for i in rng.choice(len(names), size=n, p=p / p.sum())] if n else []


def _expected(rates: dict[int, float], found: list[Episode]) -> dict[tuple[int, str], np.ndarray]:
    """Expected reports per county and type, day by day (the generator's whole model in one place)."""
    days = np.arange(DAYS)
    weekday = np.array([WEEKDAY[(START + timedelta(days=int(d))).weekday()] for d in days])
    election = np.zeros(DAYS)
    election[(ELECTION[0] - START).days:(ELECTION[1] - START).days + 1] = ELECTION_FACTOR - 1
    by_county: dict[int, list[Episode]] = {}
    for e in found:
        by_county.setdefault(e.county, []).append(e)
    lam: dict[tuple[int, str], np.ndarray] = {}
    for county in COUNTIES:
        base = rates[county.code] * weekday
        for group, share in GROUP_SHARES.items():
            for code, within in TYPES[group].items():
                lam[(county.code, code)] = base * share * within
        for code, share in ELECTION_EXTRA.items():
            lam[(county.code, code)] = lam[(county.code, code)] + base * election * share
        lam[(county.code, "killing")] = np.full(DAYS, KILLINGS_PER_DAY)
        for e in by_county.get(county.code, []):
            i, j = (e.start - START).days, (e.end - START).days
            excess = np.full(j - i + 1, e.peak - 1.0)
            excess[0] /= 2  # the first day is half way up
            extra = base[i:j + 1] * excess
            for code, share in EPISODE_TYPES.items():
                lam[(county.code, code)][i:j + 1] += extra * (1 - EPISODE_COMMUNAL) * share
            for code, within in TYPES["communal"].items():
                lam[(county.code, code)][i:j + 1] += extra * EPISODE_COMMUNAL * within
            p = max(0, i - e.precursor_days)
            for code, within in TYPES["tension"].items():  # threats and hate speech at 2x their base
                lam[(county.code, code)][p:i] += (PRECURSOR_FACTOR - 1) * base[p:i] * GROUP_SHARES["tension"] * within
    return lam


def generate(seed: int = 14) -> tuple[Iterator[dict[str, Any]], list[Episode]]:
    """The reports (in time order, as `ews export` objects) and the episodes of the seeded history."""
    rng = np.random.default_rng(seed)
    rates = base_rates(rng)
    found = episodes(rng)
    lam = _expected(rates, found)
    in_episode = {(e.county, (e.start - START).days + k) for e in found for k in range((e.end - e.start).days + 1)}
    return _reports(rng, rates, lam, in_episode), found


def _reports(rng: np.random.Generator, rates: dict[int, float], lam: dict[tuple[int, str], np.ndarray],
             in_episode: set[tuple[int, int]]) -> Iterator[dict[str, Any]]:
    counts: dict[int, list[tuple[str, list[int]]]] = {}
    for (county_code, type_code), values in lam.items():
        counts.setdefault(county_code, []).append((type_code, rng.poisson(values).tolist()))
    names = {c.code: c.name for c in COUNTIES}
    floods = {c.code: set(rng.choice(DAYS, size=rng.poisson(FLOODS_PER_YEAR * YEARS), replace=False).tolist())
              for c in COUNTIES}
    next_id = 1
    for day in range(DAYS):
        today: list[dict[str, Any]] = []
        midnight = datetime.combine(START + timedelta(days=day), datetime.min.time(), EAT)
        for county in COUNTIES:
            code = county.code
            genuine = [t for t, n in counts[code] for _ in range(n[day])]
            for t in genuine:
                at = midnight + timedelta(seconds=float(rng.uniform(0, 86400)))
                casualties = int(rng.integers(1, 4)) if t == "killing" or (
                    t == "armed_attack" and (code, day) in in_episode and rng.random() < CASUALTY_SHARE) else 0
                status = "verified" if rng.random() < VERIFIED_SHARE else "new"
                trust = MONITOR_TRUST if rng.random() < MONITOR_SHARE else None
                today.append(_report(code, names[code], t, at, casualties, status, trust, rng))
                if rng.random() < REPEAT_SHARE:
                    again = min(at + timedelta(minutes=float(rng.uniform(1, 90))), midnight + timedelta(seconds=86399))
                    today.append({**_report(code, names[code], t, again, casualties, "new", trust, rng),
                                  "repeat_of": len(today)})  # the original's index + 1 (0 would read as none)
            for _ in range(int(rng.poisson(REJECTED_SHARE * rates[code]))):
                t = str(rng.choice(["armed_attack", "physical_assault", "threat_intimidation"]))
                at = midnight + timedelta(seconds=float(rng.uniform(0, 86400)))
                today.append(_report(code, names[code], t, at, 0, "rejected", None, rng))
            if day in floods[code]:
                t = str(rng.choice(["armed_attack", "physical_assault", "hate_speech_incitement"]))
                first = midnight + timedelta(seconds=float(rng.uniform(0, 60000)))
                for k in range(int(rng.integers(FLOOD_SIZE[0], FLOOD_SIZE[1] + 1))):
                    today.append({**_report(code, names[code], t, first + timedelta(minutes=3 * k), 0, "new", None,
                                            rng), "flooding": k > 0})
        # Ids in the order the reports happened, as a database fills; a repeat points at its original's id.
        order = sorted(range(len(today)), key=lambda k: today[k]["occurred_at"])
        ids = {k: next_id + n for n, k in enumerate(order)}
        for k in order:
            report = today[k]
            report["id"] = ids[k]
            report["reference"] = report_reference(ids[k])
            if report["repeat_of"] is not None:
                report["repeat_of"] = ids[report["repeat_of"] - 1]
            yield report
        next_id += len(today)


def _report(county: int, name: str, code: str, at: datetime, casualties: int, status: str, trust: float | None,
            rng: np.random.Generator) -> dict[str, Any]:
    """One report object with the keys of GET /api/v1/reports/{id} (and the intake's marks)."""
    kind = incident_type(code)
    received = at + timedelta(seconds=float(rng.exponential(600)))
    severity = "critical" if code == "killing" else "high" if casualties else "medium" if kind.group in (
        "violence", "communal") else "low"
    return {"id": 0, "reference": "", "source": "synthetic", "channel": CHANNELS[int(rng.integers(len(CHANNELS)))],
            "body": f"[synthetic] {kind.label_en} / {kind.label_sw} ({name})", "county_code": county,
            "county_name": name, "constituency_code": None, "ward_code": None, "incident_type": code,
            "casualties": casualties, "severity": severity, "sensitive": kind.group == "sgbv", "language": "en",
            "occurred_at": at.isoformat(timespec="seconds"), "received_at": received.isoformat(timespec="seconds"),
            "latitude": None, "longitude": None, "partner": None, "place_confidence": 1.0, "place_span": None,
            "place_source": "channel", "type_confidence": 1.0, "needs_review": False, "review_status": status,
            "incident_id": None, "model_version": None, "flooding": False, "repeat_of": None, "trust": trust}


def write(out: Path, seed: int = 14) -> tuple[int, int]:
    """Write DIR/reports.jsonl and DIR/episodes.csv; how many reports and episodes."""
    out.mkdir(parents=True, exist_ok=True)
    reports, found = generate(seed)
    n = 0
    with (out / "reports.jsonl").open("w", encoding="utf-8") as f:
        for report in reports:
            f.write(json.dumps(report, ensure_ascii=False) + "\n")
            n += 1
    names = {c.code: c.name for c in COUNTIES}
    with (out / "episodes.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("county", "county_name", "start", "end", "peak", "precursor_days"))
        for e in sorted(found, key=lambda e: (e.county, e.start)):
            writer.writerow((e.county, names[e.county], e.start.isoformat(), e.end.isoformat(),
                             f"{e.peak:.2f}", e.precursor_days))
    return n, len(found)


def main(argv: list[str] | None = None) -> int:
    """`python -m rules.synthetic --out DIR [--seed N]`."""
    parser = argparse.ArgumentParser(prog="python -m rules.synthetic", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="directory for reports.jsonl and episodes.csv")
    parser.add_argument("--seed", type=int, default=14, help="the seed (default 14; the default rules are tuned on it)")
    args = parser.parse_args(argv)
    n, e = write(Path(args.out), args.seed)
    print(f"{n} reports, {e} episodes written to {args.out} ({len(COUNTIES)} counties x {DAYS} days, seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

