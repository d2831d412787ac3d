"""The place matcher alone: `resolve_place` per report, against the county-only `find_county` in the same run,
and the gazetteer's memory (built in a fresh interpreter).

The corpus is fixed: each report template of bench/signed_forms.py with every ward name (1,450), every
county name, a one-letter typo of every county name of five letters or more, and full-length reports that name
no place (where every word goes through the misspelling search). Targets (issue 10): under 1 ms per report,
the gazetteer under 50 MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.gazetteer import NO_COUNTY, _typo
from bench.signed_forms import TEXTS
from rules.gazetteer import COUNTIES, find_county, resolve_place
from rules.gazetteer.data import admin_units

PER_REPORT_TARGET_MS = 1.0
MEMORY_TARGET_MB = 50.0

# In a fresh interpreter: rapidfuzz and the modules are imported first, so what is measured is the gazetteer
# (kenya-data's units, the aliases, the name index), both as Python objects and as resident memory.
_MEMORY_PROBE = """
import json, tracemalloc
import rapidfuzz.process, rapidfuzz.distance.OSA
import rules.gazetteer.match as match
def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
before = rss()
tracemalloc.start()
match.resolve_place("Kondele")
current, peak = tracemalloc.get_traced_memory()
print(json.dumps({"traced_mb": current / 2**20, "peak_mb": peak / 2**20, "rss_growth_mb": rss() - before}))
"""


@dataclass(frozen=True, slots=True)
class PlacesResult:
    """Per-report cost of resolve_place and find_county on the same corpus, and the gazetteer's memory."""

    texts: int
    resolve_us: float  # mean per text, best of the passes
    resolve_p99_us: float  # 99th percentile of single texts
    resolve_worst_us: float  # the slowest single text
    find_county_us: float
    traced_mb: float  # Python objects the gazetteer keeps after it is built
    peak_mb: float
    rss_growth_mb: float

    @property
    def ratio(self) -> float:
        """resolve_place's cost over find_county's."""
        return self.resolve_us / self.find_county_us

    @property
    def met(self) -> bool:
        """Both targets: under 1 ms per report (mean and p99) and the gazetteer under 50 MB."""
        return (max(self.resolve_us, self.resolve_p99_us) < PER_REPORT_TARGET_MS * 1000
                and max(self.peak_mb, self.rss_growth_mb) < MEMORY_TARGET_MB)


def corpus() -> list[str]:
    """The fixed corpus (see the module docstring)."""
    wards = [w.name for w in admin_units().wards.values()]
    named = [TEXTS[i % len(TEXTS)].format(county=name) for i, name in enumerate(wards)]
    counties = [t.format(county=c.name) for t in TEXTS for c in COUNTIES]
    typos = [t.format(county=_typo(c.name)) for t in TEXTS for c in COUNTIES if len(c.name) >= 5]
    return [*named, *counties, *typos, *NO_COUNTY * 20]


def _mean_us(match: Callable[[str], object], texts: list[str], passes: int) -> float:
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        for text in texts:
            match(text)
        best = min(best, (time.perf_counter() - started) / len(texts))
    return best * 1e6


def measure(passes: int = 5) -> PlacesResult:
    """Time both matchers over the corpus (after one warm pass) and probe memory in a fresh interpreter."""
    texts = corpus()
    for text in texts:  # warm: the index is built, and each matcher's word caches hold what they would in service
        resolve_place(text)
        find_county(text)
    singles = []
    for text in texts:
        started = time.perf_counter()
        resolve_place(text)
        singles.append(time.perf_counter() - started)
    singles.sort()
    probe = subprocess.run([sys.executable, "-c", _MEMORY_PROBE], capture_output=True, text=True, check=True)
    memory = json.loads(probe.stdout)
    return PlacesResult(len(texts), _mean_us(resolve_place, texts, passes), singles[len(singles) * 99 // 100] * 1e6,
                        singles[-1] * 1e6,
                        _mean_us(find_county, texts, passes), memory["traced_mb"], memory["peak_mb"],
                        memory["rss_growth_mb"])


if __name__ == "__main__":
    result = measure()
    print(result, f"ratio {result.ratio:.2f}")
