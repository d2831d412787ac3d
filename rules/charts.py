"""Self-contained HTML charts (inline SVG, no script, no network) for backtests: one county's series with its
levels and the truth, and the AMOC curve of a threshold sweep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

import numpy as np

LEVEL_COLOURS = {1: "#f2c94c", 2: "#f2994a", 3: "#eb5757"}  # watch, warning, alert
LEVEL_NAMES = {1: "watch", 2: "warning", 3: "alert"}
LINE_COLOURS = ("#2f80ed", "#9b51e0", "#27ae60", "#333333", "#56ccf2", "#bb6bd9", "#6fcf97")
W, H, PAD = 1100, 320, 40


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            "<style>body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}svg{background:#fff;"
            "border:1px solid #ddd}.k span{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em}"
            "</style></head><body>" + body + "</body></html>\n")


def county_chart(title: str, start: datetime, step: timedelta, lines: Mapping[str, np.ndarray],
                 levels: np.ndarray, truth: Sequence[tuple[int, int]], note: str = "") -> str:
    """One county: each group's counts per period (lines), its level per period (coloured bands at the top)
    and the truth's episodes (grey bands), with the first day of each month marked."""
    n = max([len(levels), *(len(v) for v in lines.values())], default=1)
    top = max([1.0, *(float(np.max(v)) for v in lines.values() if len(v))])
    x = (W - 2 * PAD) / max(n, 1)

    def y(v: float) -> float:
        return H - PAD - (H - 2 * PAD - 24) * v / top

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">']
    for onset, end in truth:
        parts.append(f'<rect x="{PAD + onset * x:.1f}" y="{PAD}" width="{max(x, (end - onset + 1) * x):.1f}" '
                     f'height="{H - 2 * PAD}" fill="#bdbdbd" fill-opacity="0.45"><title>episode</title></rect>')
    for i, level in enumerate(levels.tolist()):
        if level:
            parts.append(f'<rect x="{PAD + i * x:.1f}" y="{PAD - 18}" width="{max(x, 1):.1f}" height="14" '
                         f'fill="{LEVEL_COLOURS[level]}"><title>{LEVEL_NAMES[level]}</title></rect>')
    for k, (group, values) in enumerate(lines.items()):
        points = " ".join(f"{PAD + (i + 0.5) * x:.1f},{y(v):.1f}" for i, v in enumerate(values.tolist()))
        parts.append(f'<polyline fill="none" stroke="{LINE_COLOURS[k % len(LINE_COLOURS)]}" stroke-width="1" '
                     f'points="{points}"><title>{escape(group)}</title></polyline>')
    parts.append(f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#888"/>')
    last_month = None
    for i in range(n):
        when = start + i * step
        if (when.year, when.month) != last_month and when.month in (1, 4, 7, 10):
            last_month = (when.year, when.month)
            parts.append(f'<text x="{PAD + i * x:.1f}" y="{H - PAD + 16}" font-size="11">{when:%Y-%m}</text>')
        last_month = (when.year, when.month)
    parts.append(f'<text x="4" y="{y(top):.1f}" font-size="11">{top:g}</text>'
                 f'<text x="4" y="{H - PAD:.1f}" font-size="11">0</text></svg>')
    key = "".join(f'<span style="background:{LINE_COLOURS[k % len(LINE_COLOURS)]}"></span>{escape(g)}'
                  for k, g in enumerate(lines))
    key += "".join(f'<span style="background:{c}"></span>{LEVEL_NAMES[lv]}' for lv, c in LEVEL_COLOURS.items())
    key += '<span style="background:#bdbdbd"></span>truth episode'
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(note)}</p>" + "".join(parts) +
                 f'<p class="k">{key}</p>')


def amoc_chart(points: Sequence[Mapping[str, Any]], note: str = "") -> str:
    """The AMOC curve: median delay (periods) against false alarms per county-year, one point per factor."""
    usable = [p for p in points if p.get("false_alarms_per_county_year") is not None
              and p.get("median_delay_periods") is not None]
    max_x = max([1.0, *(float(p["false_alarms_per_county_year"]) for p in usable)])
    ys = [float(p["median_delay_periods"]) for p in usable]
    lo_y, hi_y = min([0.0, *ys]), max([1.0, *ys])

    def sx(v: float) -> float:
        return PAD + (W - 2 * PAD) * v / max_x

    def sy(v: float) -> float:
        return H - PAD - (H - 2 * PAD) * (v - lo_y) / (hi_y - lo_y)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">',
             f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#888"/>',
             f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="#888"/>']
    ordered = sorted(usable, key=lambda p: p["false_alarms_per_county_year"])
    path = " ".join(f"{sx(p['false_alarms_per_county_year']):.1f},{sy(p['median_delay_periods']):.1f}" for p in ordered)
    parts.append(f'<polyline fill="none" stroke="#2f80ed" stroke-width="2" points="{path}"/>')
    for p in ordered:
        cx, cy = sx(p["false_alarms_per_county_year"]), sy(p["median_delay_periods"])
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="#eb5757"><title>x{p["factor"]}: '
                     f'{p["false_alarms_per_county_year"]} false alarms/county-year, '
                     f'delay {p["median_delay_periods"]}, '
                     f'POD {p["pod"]}</title></circle><text x="{cx + 5:.1f}" y="{cy - 5:.1f}" font-size="11">'
                     f'x{p["factor"]}</text>')
    parts.append(f'<text x="{W / 2:.0f}" y="{H - 8}" font-size="12">false alarms per county-year</text>'
                 f'<text x="4" y="{PAD - 10}" font-size="12">median delay (periods)</text>'
                 f'<text x="{PAD - 4}" y="{H - PAD + 14}" font-size="11" text-anchor="end">0</text>'
                 f'<text x="{W - PAD}" y="{H - PAD + 14}" font-size="11">{max_x:.2g}</text>'
                 f'<text x="4" y="{sy(hi_y) + 4:.1f}" font-size="11">{hi_y:g}</text>'
                 f'<text x="4" y="{sy(lo_y):.1f}" font-size="11">{lo_y:g}</text></svg>')
    rows = "".join(f"<tr><td>x{p['factor']}</td><td>{p['pod']}</td><td>{p['median_delay_periods']}</td>"
                   f"<td>{p['false_alarms_per_county_year']}</td></tr>" for p in points)
    table = ("<table><tr><th>thresholds</th><th>POD</th><th>median delay</th><th>false alarms/county-year</th></tr>"
             + rows + "</table>")
    return _page("AMOC curve", f"<h1>AMOC: delay against false alarms</h1><p>{escape(note)}</p>"
                 + "".join(parts) + table)
